"""What every workflow step shares: the refusal that carries the case, the words
refusals use for statuses, and a note as it is kept."""
from ..errors import ApiError

STATUS_WORDS = {"reported": "reported", "accepted": "accepted", "rejected": "rejected",
                "dispatched": "dispatched", "acknowledged": "acknowledged", "in_progress": "in progress",
                "parked": "parked", "handled": "handled", "closed": "closed"}
# The statuses in the Chinese of notifications and chat-group posts.
STATUS_ZH = {"reported": "已上报", "accepted": "已受理", "rejected": "不予受理", "dispatched": "已派遣",
             "acknowledged": "已签收", "in_progress": "处置中", "parked": "已挂账", "handled": "已处置",
             "closed": "已结案"}


class WorkflowError(ApiError):
    """A refused action on a case: the API answers it with the case as it is now."""

    def __init__(self, status, code, message, case, field=None):
        super().__init__(status, code, message, field)
        self.case_id = case.id


def clean_note(note):
    if note is None:
        return None
    note = note.strip()
    return note or None
