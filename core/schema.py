"""OpenAPI post-processing: document the problem+json errors every operation
can answer, so clients see them beside the success shapes."""

from http import HTTPStatus

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details. `code` is a stable machine string; `errors` maps "
                   "field paths to messages for validation failures.",
    "required": ["type", "title", "status", "detail", "instance", "code", "errors"],
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "title": {"type": "string", "example": "Bad Request"},
        "status": {"type": "integer", "example": 400},
        "detail": {"type": "string", "example": "name: This field is required."},
        "instance": {"type": "string", "example": "/api/v1/agents"},
        "code": {"type": "string", "example": "validation_error"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                   "example": {"name": ["This field is required."]}},
    },
}


# Runs (API.md §4) answer more: 409 agent_not_active / idempotency_conflict,
# 422 idempotency_key_reused / pipeline_error; a synchronous run's failure
# is 502 provider_error or 504 timeout; a queued one's 503 when the task
# queue is down.
SYNC_RUNS = ("/invoke", "/{agent}/executions")
QUEUED_RUNS = ("/executions/async", "/run")


def _run_statuses(path: str, method: str) -> list[int]:
    if method != "post" or not path.endswith((*SYNC_RUNS, *QUEUED_RUNS, "/run/stream")):
        return []
    if path.endswith(SYNC_RUNS):
        return [409, 422, 502, 504]
    return [409, 422, 503] if path.endswith(QUEUED_RUNS) else [409]


def _error_statuses(path: str, method: str, operation: dict) -> list[int]:
    statuses = [401, 403, 500]
    has_body = method in ("post", "put", "patch")
    has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
    if has_body or has_query:
        statuses.append(400)
    if "{" in path:
        statuses.append(404)
    if has_body:
        statuses += [409, 413, 415]
    if path.rstrip("/").endswith("{agent}") and method in ("put", "patch", "delete"):
        statuses.append(412)
        if method == "put":
            statuses.append(428)
        if method == "delete":
            statuses.append(409)
    statuses += _run_statuses(path, method)
    return sorted(set(statuses))


def add_problem_responses(result, generator, request, public):
    """drf-spectacular ``POSTPROCESSING_HOOKS`` entry.  Also writes API paths
    the way API.md does, without the trailing slash the routes tolerate."""
    result["paths"] = {
        (path.rstrip("/") if path.startswith("/api/v1/") else path): operations
        for path, operations in result.get("paths", {}).items()
    }
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not path.startswith("/api/v1/"):
                continue
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(path, method, operation):
                responses.setdefault(str(status), {"description": HTTPStatus(status).phrase, "content": content})
    return result
