"""Small rewards for residents' valid reports (随手拍有奖): an append-only points
ledger, a catalogue with stock, and one-time redemption codes."""


def install(app):
    """Connect the points rules to the workflow (their settings: config.py, REWARD_*)."""
    from ..cases.workflow import action_applied
    from . import services

    action_applied.connect(services.on_action_applied)  # once: blinker keeps one connection per receiver
