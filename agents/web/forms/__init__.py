"""The console's forms for agents.  Each one only turns what a person typed
into the body the API takes; the services validate it and their errors come
back beside the fields they name."""
