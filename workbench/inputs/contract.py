"""The data contract (shared/contract.md, section 1) as data: tables, columns, types, rules."""

from __future__ import annotations

from dataclasses import dataclass, field

ID, DATE, NUMBER, TEXT = "id", "date", "number", "text"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    unique: str | None = None
    references: dict[str, str] = field(default_factory=dict)  # column -> table whose key it names
    required: bool = False

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


OUTCOMES = ("renewed", "churned", "open")
CHURN_REASONS = ("value", "external", "unknown")
# The roles whose health is scored and judged; a contact may also be "other" (counted, never scored).
ROLES = ("decision_maker", "champion", "end_user")
CONTACT_ROLES = (*ROLES, "other")
SURVEY_RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
TOUCH_KINDS = ("human", "automated")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            (
                Column("account_id", ID, True),
                Column("account_name", TEXT),
                Column("segment", TEXT),
                Column("csm", TEXT),
                Column("region", TEXT),
                Column("industry", TEXT),
            ),
            unique="account_id",
            required=True,
        ),
        Table(
            "contracts",
            (
                Column("contract_id", ID, True),
                Column("account_id", ID, True),
                Column("start_date", DATE, True),
                Column("end_date", DATE, True),
                Column("arr", NUMBER, True, minimum=0),
                Column("outcome", TEXT, True, allowed=OUTCOMES),
                Column("renewal_arr", NUMBER, minimum=0),
                Column("churn_reason", TEXT, allowed=CHURN_REASONS),
                Column("seats", NUMBER, minimum=0),
            ),
            unique="contract_id",
            references={"account_id": "accounts"},
            required=True,
        ),
        Table(
            "contacts",
            (
                Column("contact_id", ID, True),
                Column("account_id", ID, True),
                Column("role", TEXT, True, allowed=CONTACT_ROLES),
                Column("name", TEXT),
                Column("email", TEXT),
                Column("created_date", DATE),
            ),
            unique="contact_id",
            references={"account_id": "accounts"},
        ),
        Table(
            "usage",
            (
                Column("account_id", ID, True),
                Column("contact_id", ID),
                Column("date", DATE, True),
                Column("feature", TEXT),
                Column("events", NUMBER, True, minimum=0),
            ),
            references={"account_id": "accounts", "contact_id": "contacts"},
        ),
        Table(
            "surveys",
            (
                Column("response_id", ID, True),
                Column("account_id", ID, True),
                Column("contact_id", ID),
                Column("date", DATE, True),
                Column("survey", TEXT, True, allowed=tuple(SURVEY_RANGES)),
                Column("score", NUMBER, True),
            ),
            unique="response_id",
            references={"account_id": "accounts", "contact_id": "contacts"},
        ),
        Table(
            "health_scores",
            (
                Column("account_id", ID, True),
                Column("contact_id", ID),
                Column("date", DATE, True),
                Column("score", NUMBER, True, minimum=0, maximum=100),
            ),
            references={"account_id": "accounts", "contact_id": "contacts"},
        ),
        Table(
            "goals",
            (
                Column("goal_id", ID, True),
                Column("account_id", ID, True),
                Column("metric", TEXT, True),
                Column("baseline", NUMBER, True),
                Column("target", NUMBER, True),
                Column("start_date", DATE, True),
                Column("target_date", DATE, True),
            ),
            unique="goal_id",
            references={"account_id": "accounts"},
        ),
        Table(
            "goal_progress",
            (Column("goal_id", ID, True), Column("date", DATE, True), Column("value", NUMBER, True)),
            references={"goal_id": "goals"},
        ),
        Table(
            "goal_inputs",
            (
                Column("goal_id", ID, True),
                Column("date", DATE, True),
                Column("input", TEXT, True),
                Column("value", NUMBER, True),
                Column("target", NUMBER),
            ),
            references={"goal_id": "goals"},
        ),
        Table(
            "referrals",
            (Column("account_id", ID, True), Column("date", DATE, True), Column("arr", NUMBER, True, minimum=0)),
            references={"account_id": "accounts"},
        ),
        Table(
            "activities",
            (
                Column("account_id", ID, True),
                Column("contact_id", ID),
                Column("date", DATE, True),
                Column("kind", TEXT, True, allowed=TOUCH_KINDS),
                Column("channel", TEXT),
                Column("csm", TEXT),
            ),
            references={"account_id": "accounts", "contact_id": "contacts"},
        ),
    )
}

# Tables are loaded in this order so that every reference points at a table already loaded.
LOAD_ORDER = tuple(TABLES)
