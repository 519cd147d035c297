-- wrk: every request creates a task (POST /api/v1/tasks), as a client would.
wrk.method = "POST"
wrk.body = '{"title": "Buy milk", "description": "Two litres, semi-skimmed."}'
wrk.headers["Content-Type"] = "application/json"
