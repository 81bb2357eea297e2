"""Web Push for new assignments (VAPID, aes128gcm through the `webpush` package),
sent in the background on notify's delivery queue, falling back to SMS
(civic/notify/sms.py) where push cannot reach.

keys.py      the VAPID key pair in the instance folder
models.py    subscriptions, preferences, the delivery log
subscriptions.py  checking and saving browsers' subscriptions, the public key
preferences.py    quiet nights and residents' updates
fanout.py         who is told what (notify_users), connected to the workflow
status.py         the supervisors' view: whose push works
api.py            the JSON API's push routes
views.py          the push page and the administrator's messages
sender.py    encrypting and posting to push services, many at once
jobs.py      sending deliveries and retries (the runners are civic/jobs.py's)
"""


def install(app):
    """Connect notifications to the workflow, and make the app's push state."""
    from ..cases.workflow import action_applied
    from ..notify.queue import start_thread_runner
    from . import fanout
    from .jobs import QUEUE, push_state

    action_applied.connect(fanout.on_action_applied)  # once: blinker keeps one connection per receiver

    push_state(app)
    start_thread_runner(app, QUEUE)
