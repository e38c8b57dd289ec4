"""Small domain exceptions: storage raises them, handlers turn each into a kind reply."""


class DomainError(Exception):
    """Something a member tried that the timebank's rules don't allow."""


class NotFound(DomainError):
    """The thing is gone or never existed (a closed listing, a finished exchange)."""


class NotYours(DomainError):
    """The member may not touch this: it belongs to someone else."""


class WrongState(DomainError):
    """It has moved on since the button was shown (already answered, closed, changed)."""


class WithCoordinator(WrongState):
    """The exchange waits for a coordinator (disputed, or held at the balance limit): the
    parties can't change it meanwhile."""


class AlreadyConfirmed(WrongState):
    """The exchange was already confirmed: a second tap credits nothing."""


class OwnListing(DomainError):
    """A member answered their own listing."""


class AlreadyResponded(DomainError):
    """The member has already said they can help with this listing."""


class SamePerson(DomainError):
    """Help needs two people: the giver and the receiver were the same member."""


class InvalidMinutes(DomainError):
    """Hours must be quarter-hour steps between 15 minutes and 12 hours."""


class OverdraftLimit(DomainError):
    """Confirming would take the receiver below the overdraft limit; a coordinator decides.

    `balance` is the receiver's balance before; `kept` says no coordinator could be asked yet,
    so the exchange waits for the first one."""

    def __init__(self, balance: int, limit: int, *, kept: bool = False) -> None:
        super().__init__(f"balance {balance} would pass the limit -{limit}")
        self.balance = balance
        self.limit = limit
        self.kept = kept


class NotCoordinator(DomainError):
    """Only a coordinator may do this."""


class OwnExchange(NotYours):
    """A coordinator tried to settle, approve or record hours they gave or received."""


class AlreadyAsked(DomainError):
    """The same person proposed the same hours again: the other party was already asked."""


class Unavailable(DomainError):
    """Not for this member: the two are kept apart by a block (either way), or the other one is
    paused. Said no more plainly than that, so a block is not given away."""


class Paused(DomainError):
    """A coordinator has paused this member: no posting or answering posts until resumed."""


class OwnCase(NotYours):
    """A coordinator tried to handle a report about themselves."""


class AlreadyHandled(WrongState):
    """Another coordinator (or a first tap) already handled this report."""

    def __init__(self, report_id: int, handled_by: str, outcome: str) -> None:
        super().__init__(f"report {report_id} already handled: {outcome}")
        self.handled_by = handled_by
        self.outcome = outcome


class AlreadyRecorded(DomainError):
    """This /record was already recorded: a second tap records nothing."""

    def __init__(self, exchange_id: int) -> None:
        super().__init__(f"already recorded as exchange {exchange_id}")
        self.exchange_id = exchange_id


class NameTaken(DomainError):
    """An organisation already has that name (letter case aside)."""


class NotForOrganisation(NotYours):
    """Only the members who act for an organisation, or a coordinator, may do this for it."""
