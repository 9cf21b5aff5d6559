"""HTTP plumbing shared by every app: problem+json errors, the response
envelope, pagination, ETags and request limits."""
