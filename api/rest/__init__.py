"""REST face under /v1: FastAPI routers calling the use cases."""
