"""The delivery engine and its channels. queue.py is the one delivery queue;
the channels are adapters on it: Web Push (civic/push/, which falls back to SMS),
group webhooks (here) and SMS (sms.py).

Group notifications: on dispatch, escalation and close, a message to the
department's chat group (WeCom group robot, DingTalk robot, Feishu bot),
queued with the case's transaction and posted in the background after it.

webhooks.py  the adapters: adapter_for(url_or_config).build(message) → (url, headers, body), .ok(result)
models.py    the delivery log (webhook_deliveries)
services.py  what is said and when (notify_group, the workflow signal), the case's list
jobs.py      posting, retries with backoff
queue.py     the delivery queue every channel shares (push and SMS too): queued with the
             transaction, handed over after its commit, claimed with a lease, back-off, the sweep
sms.py       the SMS channel: the console sender of the demo, a gateway's adapter, the texts
"""


def install(app):
    """Connect group notifications to the workflow, and make the app's state."""
    from ..cases.chasing import case_chased
    from ..cases.workflow import action_applied
    from . import services
    from .jobs import QUEUE, notify_state
    from .queue import start_thread_runner

    action_applied.connect(services.on_action_applied)
    case_chased.connect(services.on_case_chased)

    notify_state(app)
    start_thread_runner(app, QUEUE)
