"""Group notifications: on dispatch, escalation and close, a message to the
department's chat group (WeCom group robot, DingTalk robot, Feishu bot),
queued with the case's transaction and posted in the background after it.

webhooks.py  the adapters: adapter_for(url_or_config).build(message) → (url, headers, body), .ok(result)
models.py    the delivery log (webhook_deliveries)
services.py  what is said and when (notify_group, the workflow signal), the case's list
jobs.py      posting, retries with backoff (the runners are civic/jobs.py's)
"""


def install(app):
    """Connect group notifications to the workflow, and make the app's state."""
    from ..cases.chasing import case_chased
    from ..cases.workflow import action_applied
    from . import services
    from ..jobs import ThreadRunner
    from .jobs import notify_state

    action_applied.connect(services.on_action_applied)
    case_chased.connect(services.on_case_chased)
    state = notify_state(app)
    started = []

    @app.before_request
    def start_webhook_runner():
        # The thread runner also posts due retries: start it in each process that serves.
        if not started:
            started.append(True)
            if isinstance(state.runner, ThreadRunner):
                state.runner.start()
