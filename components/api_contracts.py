"""What each of our APIs promises beyond its route table: summaries, parameter and body schemas, responses
and examples, keyed by `"METHOD /path"`.

The route table (the `ApiRoute`s a component gives `LambdaRestApi`) stays the one source of methods,
paths, auth, query strings, cache keys and gateway models; `openapi.api_document` builds the document from
it and merges the matching contract below over it, and refuses a contract that names a route or a query
string the table does not have. A contract is found by its exact set of routes.

Examples (`x-contract-examples`) are replayed against the real handler by tests/contract: `request` is
what a client sends, `response.status` and the fields of `response.body` listed in `match` must come back.
"""
from dataclasses import dataclass, field
from typing import Any

from .cart_service import ROUTES as CART_ROUTES

JSON = "application/json"


@dataclass(frozen=True)
class ApiContract:
    document: str
    """The document's file name under docs/openapi/ (without .json)."""
    title: str
    description: str
    operations: dict[str, dict[str, Any]]
    """`"METHOD /path"` -> an OpenAPI operation fragment merged over the route table's."""
    schemas: dict[str, Any] = field(default_factory=dict)
    version: str = "1.0.0"
    """info.version of the document; its major is the stage's (v1)."""
    generated_elsewhere: bool = False
    """The committed document comes from the handler's own resolver (services/openapi_contracts.py); the
    route table's document is then only checked against it (methods and paths), not committed."""

    @property
    def routes(self) -> frozenset[tuple[str, str]]:
        return frozenset(tuple(key.split(" ", 1)) for key in self.operations)  # type: ignore[misc]


ERROR_SCHEMA = {
    "type": "object", "required": ["message"],
    "properties": {
        "message": {"type": "string", "description": "Why the request was refused, for people"},
        "reason": {"type": "string", "description": "A stable code for programs, when the API defines one (e.g. "
                                                    "body_not_json, body_too_deep, idempotency_key_reused)"},
    },
}
_ERROR_DESCRIPTIONS = {
    "400": "Malformed request (reason says which part)", "401": "No valid identity token",
    "403": "Not allowed", "404": "Not found", "409": "Conflicts with an earlier request",
    "410": "Gone", "413": "Request body too large", "415": "Body is not application/json",
    "429": "Throttled: retry later",
}


def errors(*statuses: int, **described: str) -> dict[str, Any]:
    """Error responses (the shared Error shape), with an optional description per status (`_409="..."`)."""
    answers = {}
    for status in statuses:
        text = described.get(f"_{status}", _ERROR_DESCRIPTIONS[str(status)])
        answers[str(status)] = {"description": text,
                                "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return answers


def answer(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}


IDEMPOTENCY_KEY = {"type": "string", "pattern": "^[A-Za-z0-9._:+/=-]{1,128}$"}
UUID = {"type": "string", "format": "uuid"}
_NEW_UUID = "6f1c2b9e-4d3a-4f5e-9a8b-7c6d5e4f3a2b"

# --- todo (ServerlessRestApi) ---------------------------------------------------------------------
_TITLE = {"type": "string", "minLength": 1, "maxLength": 200}
_NOTES = {"type": "string", "maxLength": 2000, "nullable": True}
TODO = ApiContract(
    document="todo-api",
    title="MyTodoList API (serverless-blueprints ServerlessRestApi)",
    description="Every operation needs a Cognito user pool ID token in the X-Id-Token header (Authorization stays "
                "free for SigV4: a GET with Cache-Control: max-age=0 bypasses the stage cache only when SigV4-signed "
                "with identity-pool credentials; otherwise it gets 403). The caller's identity comes only from that "
                "token. GET responses may be served from the stage cache (per caller) for up to the configured TTL.",
    schemas={
        "Todo": {"type": "object", "required": ["todoId", "title", "done", "createdAt", "updatedAt"],
                 "additionalProperties": False,
                 "properties": {"todoId": UUID, "title": _TITLE, "done": {"type": "boolean"},
                                "notes": {"type": "string", "maxLength": 2000},
                                "createdAt": {"type": "string", "format": "date-time"},
                                "updatedAt": {"type": "string", "format": "date-time"}}},
        "NewTodo": {"type": "object", "required": ["title"], "additionalProperties": False,
                    "properties": {"title": _TITLE, "done": {"type": "boolean"}, "notes": _NOTES}},
        "TodoChanges": {"type": "object", "minProperties": 1, "additionalProperties": False,
                        "properties": {"title": _TITLE, "done": {"type": "boolean"}, "notes": _NOTES}},
        "TodoPage": {"type": "object", "required": ["items", "nextCursor"],
                     "properties": {"items": {"type": "array", "items": ref("Todo")},
                                    "nextCursor": {"type": "string", "nullable": True}}},
        "UploadRequest": {"type": "object", "required": ["filename", "contentType"], "additionalProperties": False,
                          "properties": {"filename": {"type": "string",
                                                      "description": "Path relative to the caller's folder"},
                                         "contentType": {"type": "string"}}},
        "UploadUrl": {"type": "object", "required": ["url", "fields", "key", "contentType", "maxBytes", "expiresIn"],
                      "properties": {"url": {"type": "string"},
                                     "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                                     "key": {"type": "string"}, "contentType": {"type": "string"},
                                     "maxBytes": {"type": "integer"},
                                     "expiresIn": {"type": "integer", "maximum": 900}}},
        "DownloadUrl": {"type": "object", "required": ["url", "key", "expiresIn"],
                        "properties": {"url": {"type": "string"}, "key": {"type": "string"},
                                       "expiresIn": {"type": "integer", "maximum": 900}}},
    },
    operations={
        "GET /todos": {
            "operationId": "listTodos", "summary": "List the caller's to-dos, a page at a time",
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                                            "default": 25}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"},
                 "description": "Opaque; the nextCursor of the previous page"}],
            "responses": {"200": answer("A page", ref("TodoPage")), **errors(400, 401, 403, 429)},
            "x-contract-examples": [{"summary": "A new caller has no to-dos",
                                     "request": {"query": {"limit": "10"}},
                                     "response": {"status": 200, "body": {"items": [], "nextCursor": None},
                                                  "match": ["items", "nextCursor"]}}],
        },
        "POST /todos": {
            "operationId": "createTodo", "summary": "Create a to-do",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": IDEMPOTENCY_KEY,
                            "description": "Makes a retried create safe: the same key and the same to-do, within 24 "
                                           "hours, return the first to-do (201, same todoId, header "
                                           "Idempotent-Replayed: true) and create nothing. The same key with a "
                                           "different to-do is refused with 409. Keys are per caller."}],
            "requestBody": body(ref("NewTodo")),
            "responses": {
                "201": answer("Created", ref("Todo"), headers={"Idempotent-Replayed": {
                    "description": "'true' when this answers a retry of an earlier create with the same "
                                   "Idempotency-Key", "schema": {"type": "string", "enum": ["true"]}}}),
                **errors(400, 401, 403, 409, 413, 415, 429,
                         _409="The Idempotency-Key was used with a different to-do (reason idempotency_key_reused), "
                              "or a request with it is still in progress (reason idempotency_key_in_progress, with "
                              "Retry-After)")},
            "x-contract-examples": [{"summary": "Create a to-do",
                                     "request": {"body": {"title": "Buy milk", "notes": "2 litres"}},
                                     "response": {"status": 201, "body": {
                                         "todoId": _NEW_UUID, "title": "Buy milk", "done": False, "notes": "2 litres",
                                         "createdAt": "2026-01-02T03:04:05.000Z",
                                         "updatedAt": "2026-01-02T03:04:05.000Z"},
                                         "match": ["title", "done", "notes"]}}],
        },
        "GET /todos/{todoId}": {
            "operationId": "getTodo", "summary": "One of the caller's to-dos",
            "parameters": [{"name": "todoId", "in": "path", "required": True, "schema": UUID}],
            "responses": {"200": answer("The to-do", ref("Todo")), **errors(400, 401, 403, 404, 429)},
            "x-contract-examples": [{"summary": "Someone else's or a missing to-do is not found",
                                     "request": {"path": {"todoId": _NEW_UUID}},
                                     "response": {"status": 404, "body": {"message": "todo not found"},
                                                  "match": []}}],
        },
        "PUT /todos/{todoId}": {
            "operationId": "updateTodo", "summary": "Change some fields of a to-do",
            "parameters": [{"name": "todoId", "in": "path", "required": True, "schema": UUID}],
            "requestBody": body(ref("TodoChanges")),
            "responses": {"200": answer("Updated", ref("Todo")), **errors(400, 401, 403, 404, 413, 415, 429)},
        },
        "DELETE /todos/{todoId}": {
            "operationId": "deleteTodo", "summary": "Delete a to-do",
            "parameters": [{"name": "todoId", "in": "path", "required": True, "schema": UUID}],
            "responses": {"204": {"description": "Deleted"}, **errors(400, 401, 403, 404, 429)},
        },
        "POST /files/upload-url": {
            "operationId": "createUploadUrl", "summary": "A presigned POST into the caller's folder",
            "requestBody": body(ref("UploadRequest")),
            "responses": {"200": answer("Presigned POST", ref("UploadUrl")),
                          **errors(400, 401, 403, 413, 415, 429)},
            "x-contract-examples": [{"summary": "Upload a picture",
                                     "request": {"body": {"filename": "holiday/beach.png", "contentType": "image/png"}},
                                     "response": {"status": 200, "body": {
                                         "url": "https://files.s3.amazonaws.com/", "fields": {},
                                         "key": "users/{sub}/holiday/beach.png", "contentType": "image/png",
                                         "maxBytes": 10485760, "expiresIn": 300}, "match": ["contentType"]}}],
        },
        "GET /files/download-url": {
            "operationId": "createDownloadUrl", "summary": "A presigned GET for a key in the caller's folder",
            "parameters": [{"name": "key", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": answer("Presigned GET", ref("DownloadUrl")), **errors(400, 401, 403, 429)},
        },
    },
)

# --- blog (BlogApi) -----------------------------------------------------------------------------------
_MESSAGE = ref("Message")
_TOKEN = {"name": "token", "in": "query", "required": True, "schema": {"type": "string"},
          "description": "The signed token of the link in the email"}
BLOG = ApiContract(
    document="blog-api",
    title="Blog API (serverless-blueprints BlogApi)",
    description="Public and read-mostly: published posts, and the email subscription with double opt-in. Served "
                "only through the site's CloudFront distribution, which adds the origin header this API checks; "
                "a request that goes around it is refused with 403. Post reads may come from the stage cache.",
    schemas={
        "PostSummary": {"type": "object", "required": ["slug", "title"],
                        "properties": {"slug": {"type": "string"}, "title": {"type": "string"},
                                       "summary": {"type": "string"},
                                       "publishedAt": {"type": "string", "format": "date-time"},
                                       "tags": {"type": "array", "items": {"type": "string"}}}},
        "Post": {"allOf": [ref("PostSummary"), {"type": "object", "properties": {"body": {"type": "string"}}}]},
        "PostPage": {"type": "object", "required": ["posts", "nextCursor"],
                     "properties": {"posts": {"type": "array", "items": ref("PostSummary")},
                                    "nextCursor": {"type": "string", "nullable": True}}},
        "Subscription": {"type": "object", "required": ["email"], "additionalProperties": False,
                         "properties": {"email": {"type": "string", "minLength": 3, "maxLength": 254},
                                        "name": {"type": "string", "maxLength": 100}}},
        "Message": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}},
    },
    operations={
        "GET /api/posts": {
            "operationId": "listPosts", "summary": "Published posts, newest first",
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50,
                                                            "default": 10}},
                {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 512},
                 "description": "Opaque; the nextCursor of the previous page"}],
            "responses": {"200": answer("A page of posts", ref("PostPage")), **errors(400, 403, 429)},
            "x-contract-examples": [{"summary": "The newest post", "request": {"query": {"limit": "1"}},
                                     "response": {"status": 200, "body": {"posts": [{
                                         "slug": "hello-world", "title": "Hello", "summary": "s",
                                         "publishedAt": "2024-05-01T09:00:00Z", "tags": []}], "nextCursor": None},
                                         "match": ["posts"]}}],
        },
        "GET /api/posts/{slug}": {
            "operationId": "getPost", "summary": "One published post",
            "parameters": [{"name": "slug", "in": "path", "required": True,
                            "schema": {"type": "string", "maxLength": 100}}],
            "responses": {"200": answer("The post", ref("Post")), **errors(400, 403, 404, 429)},
            "x-contract-examples": [{"summary": "A post by its slug", "request": {"path": {"slug": "hello-world"}},
                                     "response": {"status": 200, "body": {
                                         "slug": "hello-world", "title": "Hello", "summary": "s",
                                         "publishedAt": "2024-05-01T09:00:00Z", "tags": [], "body": "<p>b</p>"},
                                         "match": ["slug", "title", "body"]}}],
        },
        "POST /api/subscribe": {
            "operationId": "subscribe", "summary": "Ask for the newsletter; a confirmation link is emailed",
            "requestBody": body(ref("Subscription")),
            "responses": {"202": answer("Accepted; the same answer whether or not the address was known", _MESSAGE),
                          **errors(400, 403, 413, 415, 429)},
            "x-contract-examples": [{"summary": "Subscribe", "request": {"body": {"email": "reader@example.com"}},
                                     "response": {"status": 202, "body": {"message": "Thanks! Please check your "
                                                  "inbox for a link to confirm your subscription."},
                                                  "match": ["message"]}}],
        },
        "GET /api/subscriptions/confirm": {
            "operationId": "confirmSubscription", "summary": "The confirmation link of the email",
            "parameters": [_TOKEN],
            "responses": {"200": answer("Confirmed (or already confirmed)", _MESSAGE),
                          **errors(400, 403, 404, 410, 429, _410="The link has expired: subscribe again")},
            "x-contract-examples": [{"summary": "A forged link is refused", "request": {"query": {"token": "forged"}},
                                     "response": {"status": 400, "body": {"message": ""}, "match": []}}],
        },
        "GET /api/subscriptions/unsubscribe": {
            "operationId": "unsubscribe", "summary": "The unsubscribe link of every email",
            "parameters": [_TOKEN],
            "responses": {"200": answer("Unsubscribed", _MESSAGE),
                          **errors(400, 403, 410, 429, _410="The link has expired")},
        },
    },
)

# --- orders (OutboxRelay) -----------------------------------------------------------------------------
_LINE = {"type": "object", "required": ["sku", "quantity", "unitPrice"], "additionalProperties": False,
         "properties": {"sku": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
                        "quantity": {"type": "integer", "minimum": 1, "maximum": 100},
                        "unitPrice": {"type": "integer", "minimum": 0, "maximum": 100000000}}}
ORDERS = ApiContract(
    document="orders-api",
    title="Orders API (serverless-blueprints OutboxRelay)",
    description="Places an order for the signed-in customer (Cognito ID token in Authorization). The order and "
                "its OrderCreated event are written in one transaction; the event reaches EventBridge through the "
                "outbox. Every request carries an Idempotency-Key: a retry returns the first order.",
    schemas={
        "OrderLine": _LINE,
        "NewOrder": {"type": "object", "required": ["items", "currency", "amount"], "additionalProperties": False,
                     "properties": {"items": {"type": "array", "minItems": 1, "maxItems": 50,
                                              "items": ref("OrderLine")},
                                    "currency": {"type": "string", "enum": ["EUR", "GBP", "USD"]},
                                    "amount": {"type": "integer", "minimum": 1, "maximum": 10000000000,
                                               "description": "Minor units; must equal the sum of the lines"}}},
        "Order": {"type": "object",
                  "required": ["orderId", "status", "items", "currency", "amount", "createdAt", "correlationId"],
                  "properties": {"orderId": {"type": "string"}, "status": {"type": "string"},
                                 "items": {"type": "array", "items": ref("OrderLine")},
                                 "currency": {"type": "string"}, "amount": {"type": "integer"},
                                 "createdAt": {"type": "string", "format": "date-time"},
                                 "correlationId": {"type": "string"}}},
    },
    operations={
        "POST /orders": {
            "operationId": "createOrder", "summary": "Place an order (at most once per Idempotency-Key)",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True, "schema": IDEMPOTENCY_KEY},
                           {"name": "X-Correlation-Id", "in": "header", "required": False,
                            "schema": {"type": "string"}, "description": "Carried into the OrderCreated event"}],
            "requestBody": body(ref("NewOrder")),
            "responses": {"201": answer("Placed (or the earlier order of this key)", ref("Order")),
                          **errors(400, 401, 403, 409, 413, 415, 429)},
            "x-contract-examples": [{"summary": "Two mugs",
                                     "request": {"headers": {"Idempotency-Key": "order-0001"},
                                                 "body": {"items": [{"sku": "MUG-1", "quantity": 2, "unitPrice": 1250}],
                                                          "currency": "EUR", "amount": 2500}},
                                     "response": {"status": 201, "body": {
                                         "orderId": "ord-1", "status": "PENDING",
                                         "items": [{"sku": "MUG-1", "quantity": 2, "unitPrice": 1250}],
                                         "currency": "EUR", "amount": 2500,
                                         "createdAt": "2026-01-02T03:04:05.000+00:00",
                                         "correlationId": "c-1"}, "match": ["items", "currency", "amount"]}}],
        },
    },
)

# --- paid content (PaidContent): the signer and the registration apps -------------------------------------
_EXPIRES_AT = {"type": "integer", "description": "Epoch seconds"}
SIGNER = ApiContract(
    document="paid-content-signer-api",
    title="Premium content signer (serverless-blueprints PaidContent)",
    description="Signs CloudFront URLs and cookies for premium content, for signed-in users with a current "
                "premium subscription (Cognito ID token in Authorization). Nothing it answers may be cached.",
    schemas={
        "SignedUrl": {"type": "object", "required": ["url", "expiresAt"],
                      "properties": {"url": {"type": "string"}, "expiresAt": _EXPIRES_AT}},
        "CookieRequest": {"type": "object", "required": ["folder"], "additionalProperties": False,
                          "properties": {"folder": {"type": "string"}, "expiresIn": {"type": "integer", "minimum": 1}}},
        "SignedCookies": {"type": "object", "required": ["folder", "expiresAt"],
                          "properties": {"folder": {"type": "string"}, "expiresAt": _EXPIRES_AT}},
    },
    operations={
        "GET /signed-url": {
            "operationId": "signUrl", "summary": "A signed URL for one premium object",
            "parameters": [{"name": "path", "in": "query", "required": True, "schema": {"type": "string"}},
                           {"name": "expiresIn", "in": "query", "schema": {"type": "integer", "minimum": 1},
                            "description": "Seconds; capped by the maximum TTL and the subscription's end"}],
            "responses": {"200": answer("Signed", ref("SignedUrl")),
                          **errors(400, 401, 403, 429, _403="No current premium subscription")},
            "x-contract-examples": [{"summary": "Without a subscription",
                                     "request": {"query": {"path": "/premium/a.mp4"}},
                                     "response": {"status": 403, "body": {"message": "", "reason": "not_premium"},
                                                  "match": ["reason"]}}],
        },
        "POST /signed-cookies": {
            "operationId": "signCookies", "summary": "Signed cookies for a premium folder (Set-Cookie)",
            "requestBody": body(ref("CookieRequest")),
            "responses": {"200": answer("Signed; the cookies are in Set-Cookie", ref("SignedCookies")),
                          **errors(400, 401, 403, 413, 415, 429, _403="No current premium subscription")},
        },
    },
)
_SUB = {"type": "string", "format": "uuid", "description": "The user's Cognito sub"}
_NO_SUCH_USER_PATH = "The path segment can't be a user id (characters no route takes)"
REGISTRATION = ApiContract(
    document="paid-content-registration-api",
    title="Premium registration (serverless-blueprints PaidContent)",
    description="Who is premium: every signed-in user may read their own status; members of the admin group "
                "grant and revoke (Cognito ID token in Authorization).",
    schemas={
        "PremiumStatus": {"type": "object", "required": ["sub", "premium", "premiumUntil", "plan"],
                          "properties": {"sub": {"type": "string"}, "premium": {"type": "boolean"},
                                         "premiumUntil": {"type": "string", "nullable": True},
                                         "plan": {"type": "string", "nullable": True}}},
        "Grant": {"type": "object", "required": ["premiumUntil"], "additionalProperties": False,
                  "properties": {"premiumUntil": {"oneOf": [{"type": "string"}, {"type": "integer"}],
                                                  "description": "ISO-8601 UTC or epoch seconds, within 10 years"},
                                 "plan": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$"}}},
        "GrantOutcome": {"allOf": [ref("PremiumStatus"), {"type": "object", "required": ["outcome"], "properties": {
            "outcome": {"type": "string", "enum": ["created", "updated", "unchanged"]}}}]},
        "Revoked": {"type": "object", "required": ["sub", "premium", "outcome"],
                    "properties": {"sub": {"type": "string"}, "premium": {"type": "boolean"},
                                   "outcome": {"type": "string", "enum": ["revoked", "unchanged"]}}},
    },
    operations={
        "GET /premium-users/me": {
            "operationId": "myPremiumStatus", "summary": "The caller's premium status",
            "responses": {"200": answer("Status", ref("PremiumStatus")), **errors(401, 403, 429)},
            "x-contract-examples": [{"summary": "A user who never subscribed", "request": {},
                                     "response": {"status": 200, "body": {"sub": "{sub}", "premium": False,
                                                                          "premiumUntil": None, "plan": None},
                                                  "match": ["premium", "premiumUntil", "plan"]}}],
        },
        "PUT /premium-users/{sub}": {
            "operationId": "grantPremium", "summary": "Grant or extend premium (admins)",
            "parameters": [{"name": "sub", "in": "path", "required": True, "schema": _SUB}],
            "requestBody": body(ref("Grant")),
            "responses": {"200": answer("Updated or unchanged", ref("GrantOutcome")),
                          "201": answer("Granted", ref("GrantOutcome")),
                          **errors(400, 401, 403, 404, 413, 415, 429, _403="The caller is not an admin",
                                   _404=_NO_SUCH_USER_PATH)},
        },
        "DELETE /premium-users/{sub}": {
            "operationId": "revokePremium", "summary": "Revoke premium (admins)",
            "parameters": [{"name": "sub", "in": "path", "required": True, "schema": _SUB}],
            "responses": {"200": answer("Revoked or unchanged", ref("Revoked")),
                          **errors(400, 401, 403, 404, 429, _403="The caller is not an admin",
                                   _404=_NO_SUCH_USER_PATH)},
        },
    },
)

# --- blog authoring (BlogAuthoring): the request bodies are its route table's models (CREATE/UPDATE/UNPUBLISH_SCHEMA)
_POST_SLUG = {"name": "slug", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 100},
              "description": "Lower-case letters, digits and single hyphens; anything else is answered 400 "
                             "(reason invalid_slug)"}
_TIMESTAMP = {"type": "string", "format": "date-time"}
_UNSAVED = ("The post is saved, but readers' caches were not refreshed (reason invalidation_pending, with "
            "Retry-After: send the same request again to finish), or the table is unavailable (reason "
            "service_unavailable)")
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before sending the same request again (with reason "
                                               "invalidation_pending)", "schema": {"type": "string"}}}
_AUTHOR_ERRORS = {"_401": "No valid ID token (from API Gateway; the function isn't invoked), or no subject in it",
                  "_403": "Signed in, but not a member of the authors group (reason not_author)"}
_WRITE_409 = ("The post changed since it was read (reason version_conflict: read it again and apply the change to "
              "its new version)")
_AUTHORING_EXAMPLE_POST = {"title": "Hello again", "summary": "An edit", "body": "<p>Edited</p>", "tags": ["news"]}


def _authoring_errors(*statuses: int, **described: str) -> dict[str, Any]:
    """errors(...) with the authors' wording, and 503 (saved, caches not refreshed yet) with its Retry-After."""
    answers = errors(*statuses, **{**_AUTHOR_ERRORS, **described})
    answers["503"] = {**errors(400, _400=_UNSAVED)["400"], "headers": _RETRY_AFTER}
    return answers


BLOG_AUTHORING = ApiContract(
    document="blog-authoring-api",
    title="Blog authoring API (serverless-blueprints BlogAuthoring)",
    description="Authors (members of the authors group; Cognito ID token in Authorization) write and publish posts. "
                "Each update names the version it was based on; a change readers could see flushes the public API's "
                "stage cache (when it has one) and invalidates CloudFront's copies, so readers see it at once. Every "
                "write is idempotent: the same request again is answered the same (replayed: true) and writes "
                "nothing. Never cached.",
    schemas={
        "AuthoredPost": {
            "type": "object", "description": "The post as authors see it (drafts too), with its version",
            "required": ["slug", "title", "body", "status", "version"],
            "properties": {"slug": {"type": "string"}, "title": {"type": "string"}, "summary": {"type": "string"},
                           "body": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
                           "status": {"type": "string", "enum": ["draft", "published"]},
                           "publishedAt": {**_TIMESTAMP, "description": "The first publication; kept through "
                                                                        "unpublish and publish again"},
                           "version": {"type": "integer", "minimum": 1,
                                       "description": "Name it in the next update or unpublish"},
                           "createdAt": _TIMESTAMP, "updatedAt": _TIMESTAMP}},
        "WrittenPost": {"allOf": [ref("AuthoredPost"), {
            "type": "object", "required": ["replayed", "invalidation"],
            "properties": {"replayed": {"type": "boolean", "description": "This answers a retry: nothing was written"},
                           "invalidation": {
                               "type": "object", "nullable": True, "required": ["id", "paths"],
                               "additionalProperties": False,
                               "description": "The CloudFront invalidation of this version (one per version); null "
                                              "when readers could not see the change (a draft never published)",
                               "properties": {"id": {"type": "string"},
                                              "paths": {"type": "array", "items": {"type": "string"}}}}}}]},
    },
    operations={
        "GET /posts/{slug}": {
            "operationId": "readPost", "summary": "A post, draft or published, with its version",
            "parameters": [_POST_SLUG],
            "responses": {"200": answer("The post", ref("AuthoredPost")),
                          **_authoring_errors(400, 401, 403, 404, 429)},
            "x-contract-examples": [
                {"summary": "A published post and its version", "request": {"path": {"slug": "contract-seeded"}},
                 "response": {"status": 200, "match": ["slug", "status", "version"], "body": {
                     "slug": "contract-seeded", "title": "Seeded", "summary": "s", "body": "<p>b</p>", "tags": [],
                     "status": "published", "publishedAt": "2024-05-01T09:00:00Z", "version": 1}}},
                {"summary": "An unknown post", "request": {"path": {"slug": "no-such-post"}},
                 "response": {"status": 404, "match": ["reason"],
                              "body": {"message": "post not found", "reason": "post_not_found"}}},
                {"summary": "Outside the authors group", "request": {"path": {"slug": "contract-seeded"},
                                                                     "headers": {"Authorization": "reader-token"}},
                 "response": {"status": 403, "match": ["reason"],
                              "body": {"message": "only members of authors may write posts", "reason": "not_author"}}},
            ],
        },
        "POST /posts": {
            "operationId": "createPost", "summary": "Create a post (a draft unless status is published)",
            "responses": {"201": answer("Created (or the same create again: replayed)", ref("WrittenPost")),
                          **_authoring_errors(400, 401, 403, 409, 413, 415, 429,
                                              _409="A post with this slug exists (reason post_exists)")},
            "x-contract-examples": [
                {"summary": "Create a draft", "request": {"body": {"slug": "contract-draft", "title": "Draft",
                                                                   "body": "<p>Soon</p>"}},
                 "response": {"status": 201, "match": ["slug", "status", "version", "replayed", "invalidation"],
                              "body": {"slug": "contract-draft", "title": "Draft", "summary": "", "body": "<p>Soon</p>",
                                       "tags": [], "status": "draft", "version": 1,
                                       "createdAt": "2024-05-01T09:00:00.000Z", "updatedAt": "2024-05-01T09:00:00.000Z",
                                       "replayed": False, "invalidation": None}}},
                {"summary": "A slug that exists", "request": {"body": {"slug": "contract-seeded", "title": "Again",
                                                                       "body": "<p>x</p>"}},
                 "response": {"status": 409, "match": ["reason"], "body": {"message": "", "reason": "post_exists"}}},
                {"summary": "A slug with capitals", "request": {"body": {"slug": "Not-A-Slug", "title": "T",
                                                                         "body": "<p>x</p>"}},
                 "response": {"status": 400, "match": ["reason"], "body": {"message": "", "reason": "invalid_slug"}}},
            ],
        },
        "PUT /posts/{slug}": {
            "operationId": "updatePost", "summary": "Replace a post's content, from the version it was read at",
            "parameters": [_POST_SLUG],
            "responses": {"200": answer("Written (or the same update again: replayed)", ref("WrittenPost")),
                          **_authoring_errors(400, 401, 403, 404, 409, 413, 415, 429, _409=_WRITE_409)},
            "x-contract-examples": [
                {"summary": "Edit a published post: readers' caches are refreshed",
                 "request": {"path": {"slug": "contract-edited"}, "body": {"version": 1, **_AUTHORING_EXAMPLE_POST}},
                 "response": {"status": 200, "match": ["slug", "title", "status", "version", "replayed"], "body": {
                     "slug": "contract-edited", **_AUTHORING_EXAMPLE_POST, "status": "published",
                     "publishedAt": "2024-05-01T09:00:00Z", "version": 2, "createdAt": "2024-05-01T09:00:00.000Z",
                     "updatedAt": "2024-05-01T09:00:00.000Z", "replayed": False,
                     "invalidation": {"id": "I2J0I21PCUYOIK", "paths": ["/api/posts*", "/posts/contract-edited/*"]}}}},
                {"summary": "A stale version", "request": {"path": {"slug": "contract-seeded"},
                                                           "body": {"version": 7, **_AUTHORING_EXAMPLE_POST}},
                 "response": {"status": 409, "match": ["reason"],
                              "body": {"message": "", "reason": "version_conflict"}}},
                {"summary": "An unknown post", "request": {"path": {"slug": "no-such-post"},
                                                           "body": {"version": 1, **_AUTHORING_EXAMPLE_POST}},
                 "response": {"status": 404, "match": ["reason"], "body": {"message": "", "reason": "post_not_found"}}},
            ],
        },
        "POST /posts/{slug}/unpublish": {
            "operationId": "unpublishPost", "summary": "Take a post off the site (a draft again)",
            "parameters": [_POST_SLUG],
            "responses": {"200": answer("Unpublished (or already a draft)", ref("WrittenPost")),
                          **_authoring_errors(400, 401, 403, 404, 409, 413, 415, 429, _409=_WRITE_409)},
            "x-contract-examples": [
                {"summary": "Unpublish", "request": {"path": {"slug": "contract-unpublished"}, "body": {"version": 1}},
                 "response": {"status": 200, "match": ["slug", "status", "version"], "body": {
                     "slug": "contract-unpublished", "title": "Seeded", "summary": "s", "body": "<p>b</p>",
                     "tags": [], "status": "draft", "publishedAt": "2024-05-01T09:00:00Z", "version": 2,
                     "updatedAt": "2024-05-01T09:00:00.000Z", "replayed": False,
                     "invalidation": {"id": "I2J0I21PCUYOIK",
                                      "paths": ["/api/posts*", "/posts/contract-unpublished/*"]}}}},
            ],
        },
    },
)

# --- cart (CartService): its handler's Powertools resolver documents it (pydantic models), as docs/openapi/cart.json
CART = ApiContract(
    document="cart", title="Cart API (serverless-blueprints CartService)",
    description="Carts and quotes of the shop, for its services (SigV4, execute-api:Invoke per route).",
    operations={f"{method} {path}": {} for method, path in CART_ROUTES}, generated_elsewhere=True)

# --- shop health (ShopHealth): docs/new-service.md's worked example --------------------------------------
_SERVICE_HEALTH = {"type": "object", "required": ["status", "alarmsFiring"], "additionalProperties": False,
                   "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]},
                                  "alarmsFiring": {"type": "integer", "minimum": 0}}}
SHOP_HEALTH = ApiContract(
    document="shop-health",
    title="Shop health (serverless-blueprints ShopHealth)",
    description="Public. The shop is ok while none of its services' CloudWatch alarms fires; 503 otherwise, so a "
                "load balancer or an uptime check can act on the status code alone. Never cached.",
    schemas={"Health": {"type": "object", "required": ["status", "services"], "additionalProperties": False,
                        "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]},
                                       "services": {"type": "object", "additionalProperties": _SERVICE_HEALTH}}}},
    operations={
        "GET /health": {
            "operationId": "shopHealth", "summary": "Whether every service of the shop is healthy",
            "responses": {"200": answer("Every service is ok", ref("Health")),
                          "503": answer("At least one service has an alarm firing", ref("Health")),
                          **errors(429)},
            "x-contract-examples": [{"summary": "No alarm fires", "request": {},
                                     "response": {"status": 200, "match": ["status"], "body": {
                                         "status": "ok", "services": {"catalog": {"status": "ok", "alarmsFiring": 0}}}}}],
        },
    },
)

CONTRACTS: tuple[ApiContract, ...] = (TODO, BLOG, ORDERS, SIGNER, REGISTRATION, BLOG_AUTHORING, CART, SHOP_HEALTH)
"""Every API of the stacks; tests/contract checks each LambdaRestApi of both stacks has one."""
