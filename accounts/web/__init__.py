"""The console's account pages: sign-in, sign-out, password change and API tokens."""
