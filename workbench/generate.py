"""A synthetic world in the data contract, with known truths planted by knobs.

Every account carries latent drivers (standard normal): the sentiment of each person, an NPS
attitude, a usage intensity, a health-score factor and the final attainment of its goal. The
renewal decision is a logistic draw whose log-odds are a weighted sum of those drivers; each
`*_effect` knob is that weight, in log-odds per standard deviation. What the tables show is a
noisy view of the drivers, so a study recovers a knob only through the data, as it would in life.

The default world tells the story practitioners describe: NPS is answered mostly by happy end
users, the decision maker rarely answers, the exported health score is built from usage and
surveys, and churn is driven by the decision maker's sentiment and by missed goals.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

ROLE_CODES = np.array(["decision_maker", "champion", "end_user", "other"])
DM, CHAMPION, END_USER, OTHER = range(4)
SEGMENTS = np.array(["SMB", "Mid-Market", "Enterprise"])
SEGMENT_ARR = np.array([12_000.0, 45_000.0, 160_000.0])
REGIONS = np.array(["NA", "EMEA", "APAC", "LATAM"])
INDUSTRIES = np.array(["Software", "Financial Services", "Healthcare", "Manufacturing", "Retail", "Education"])
NAME_WORDS = np.array(
    [
        "Acme",
        "Northwind",
        "Globex",
        "Initech",
        "Umbrella",
        "Stark",
        "Wayne",
        "Tyrell",
        "Cyberdyne",
        "Hooli",
        "Vandelay",
        "Soylent",
        "Wonka",
        "Gringotts",
        "Oceanic",
        "Massive",
    ]
)
NAME_SUFFIX = np.array(["Labs", "Systems", "Group", "Analytics", "Health", "Logistics", "Bank", "Retail"])
FEATURES = np.array(["reports", "dashboards", "automations", "integrations", "alerts", "exports"])
GOALS = (  # metric, baseline, target (lower-is-better when target < baseline)
    ("pipeline_generated_usd", 100_000.0, 160_000.0),
    ("days_to_close", 60.0, 42.0),
    ("qualified_leads_per_month", 40.0, 70.0),
)
GOAL_INPUTS = np.array(["booked_meetings", "demos", "proposals"])
TERM_DAYS = 365
TIMELY_DAYS = 45  # an answer this soon after the risk shows carries `touch_effect`
PLAYBOOK_DAYS = 2
RED_BELOW = 40  # the workbench's default red line for a health score
HUMAN_CHANNELS = np.array(["call", "email", "meeting", "qbr"])
AUTOMATED_CHANNELS = np.array(["email", "in_app", "webinar"])


@dataclass(frozen=True)
class World:
    """The knobs of a synthetic world. Effects are log-odds of renewal per standard deviation."""

    accounts: int = 1000
    seed: int = 42
    as_of: str = "2026-10-31"
    base_churn: float = 0.14
    nps_effect: float = 0.0
    usage_effect: float = 0.0
    health_effect: float = 0.0
    decision_maker_effect: float = 1.3
    champion_effect: float = 0.3
    end_user_effect: float = 0.0
    goal_effect: float = 1.3
    sentiment_correlation: float = 0.15  # shared sentiment between the people of one account
    # Change per year of first start in every person's sentiment: below 0, later cohorts are less happy, so the
    # book's risk drifts and last year's renewal rate lags behind it (the renewal forecast's test)
    sentiment_drift: float = 0.0
    response_rate_decision_maker: float = 0.02  # per person and quarterly survey wave
    response_rate_champion: float = 0.08
    response_rate_end_user: float = 0.06
    response_rate_other: float = 0.04
    external_churn: float = 0.03  # churn for reasons outside the vendor's control (acquired, bankrupt)
    decision_maker_coverage: float = 0.9  # share of accounts with a known decision maker
    end_users_per_account: float = 5.0
    features: int = 1  # usage features per contact and month
    new_account_share: float = 0.2  # accounts still in their first term at as_of
    products: int = 1  # concurrent subscriptions per account, each with its own contract terms
    outcome_correlation: float = 0.0  # chance an extra product's renewal follows the account's first product
    term_months: int = 12  # length of a contract term: 1 (monthly), 3 (quarterly) or 12 (annual)
    hostile_names: bool = False  # account and contact names with HTML/script, to test escaping
    # Support tickets, a dated table the contract does not know (support_tickets.csv), for analysts' own
    # hypotheses: tickets come faster the further an account is from its goal.
    ticket_effect: float = 2.5
    # How much of the exported overall score follows what really drives renewal (0: none, as practitioners
    # report; 1: the whole score does).
    score_alignment: float = 0.0
    # Usage of churning accounts falls by `usage_drop` over their last `usage_drop_days` (0: no drop): a
    # signal that warns late.
    usage_drop_days: int = 0
    usage_drop: float = 0.7
    # The shape of goal progress over a term: "mixed" (each account's own power curve), or one of CURVES for all.
    curve: str = "mixed"
    nps_day_noise: float = 0.8  # standard deviation of an NPS answer around the person's stance: "a good or bad day"
    # The CS team's touches (activities.csv), see _touch_plan: a red decision maker is answered by a human touch
    # with a chance rising by `risk_targeting` per 10 points below red, after a delay that grows as (book / median
    # book) ** `book_slowdown`; a human touch within TIMELY_DAYS of turning at risk adds `touch_effect` to the
    # log-odds of renewal.
    touch_effect: float = 1.0
    risk_targeting: float = 2.0
    book_slowdown: float = 1.0
    touch_delay_days: float = 20.0  # mean delay of a CSM's answer at the median book size
    # CSMs who see the risk before the data show it: their answer's delay counts from `risk_seen_early_days`
    # before the monthly score turns red (a drop between readings, told on a call), and an answer from then on is
    # timely.
    risk_seen_early_days: int = 0
    # Routine reviews on a cadence: every account gets a human "qbr" touch every `routine_cadence_days`
    # (0: none), whatever its risk. A review on the qbr channel never changes the outcome.
    routine_cadence_days: int = 0
    other_touch_days: float = 75.0  # mean days between human touches that come regardless of risk (median book)
    # An automated playbook that fires on a red decision maker once the data show it (within PLAYBOOK_DAYS), for
    # a `playbook_share` of them; an automated touch within TIMELY_DAYS adds `automated_effect` to the log-odds
    # of renewal. Other automated touches (newsletters, webinars) come every `bot_touch_days` on average.
    playbook_share: float = 0.0
    automated_effect: float = 0.0
    bot_touch_days: float = 30.0

    def __post_init__(self):
        if self.term_months not in (1, 3, 12):
            raise ValueError(f"term_months must be 1, 3 or 12, not {self.term_months}")
        if self.products < 1:
            raise ValueError(f"products must be 1 or more, not {self.products}")
        if self.curve != "mixed" and self.curve not in CURVES:
            raise ValueError(f"curve must be mixed or one of {', '.join(CURVES)}, not {self.curve!r}")

    @classmethod
    def null(cls, **overrides) -> World:
        """A world where nothing observable drives renewal."""
        zero = {f.name: 0.0 for f in fields(cls) if f.name.endswith("_effect")}
        return cls(**{**zero, **overrides})

    def knobs(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def generate(world: World = World()) -> dict[str, pd.DataFrame]:
    """All tables of the contract for `world`, plus `truth` (the latent drivers per account)."""
    rng = np.random.default_rng(world.seed)
    as_of = np.datetime64(world.as_of, "D")
    n = world.accounts

    accounts = _accounts(rng, world)
    people = _people(rng, world)
    drivers = _drivers(rng, world, people)

    # First terms: established accounts decide within the 12 months before as_of, new ones are open.
    new = rng.random(n) < world.new_account_share
    start = np.where(
        new, as_of - rng.integers(30, TERM_DAYS, n), as_of - 2 * TERM_DAYS + rng.integers(1, TERM_DAYS + 1, n)
    )
    start = start.astype("datetime64[D]")
    end = start + TERM_DAYS
    if world.sentiment_drift:
        _drift(drivers, people, world.sentiment_drift * (start - start.min()).astype(float) / TERM_DAYS)
    segment_code = accounts["segment_code"].to_numpy()
    arr = np.round(SEGMENT_ARR[segment_code] * rng.lognormal(0, 0.5, n), -2)

    # The touches come from a stream of their own, so the other tables do not change with the touch knobs.
    touches = _touch_plan(np.random.default_rng([world.seed, 11]), world, accounts, people, drivers, start, new, as_of)
    accounts["csm"] = touches["csm"]
    renewed, reason, p_renew = _decide(rng, world, drivers, touches["timely"], touches["automated_timely"])
    decided = ~new
    growth = np.clip(0.4 * np.maximum(drivers["attainment"] - 1, 0) + rng.normal(-0.02, 0.06, n), -0.4, 1.0)
    renewal_arr = np.where(renewed, np.round(arr * (1 + growth), -2), 0.0)

    first = pd.DataFrame(
        {
            "contract_id": [f"K{i:07d}" for i in range(n)],
            "account_id": accounts["account_id"],
            "start_date": start,
            "end_date": end,
            "arr": arr,
            "outcome": np.where(decided, np.where(renewed, "renewed", "churned"), "open"),
            "renewal_arr": np.where(decided, renewal_arr, np.nan),
            "churn_reason": np.where(decided & ~renewed, reason, None),
        }
    )
    again = decided & renewed
    second = pd.DataFrame(
        {
            "contract_id": [f"K{i:07d}" for i in np.flatnonzero(again) + n],
            "account_id": accounts["account_id"].to_numpy()[again],
            "start_date": end[again],
            "end_date": end[again] + TERM_DAYS,
            "arr": renewal_arr[again],
            "outcome": "open",
            "renewal_arr": np.nan,
            "churn_reason": None,
        }
    )
    annual = pd.concat([first, second], ignore_index=True)
    contracts = annual
    if world.products > 1:
        contracts = _more_products(rng, world, contracts, renewed, p_renew, reason, renewal_arr / np.maximum(arr, 1))
    if world.term_months != 12:
        contracts = _billing_terms(rng, contracts, world.term_months, as_of)

    # Licensed seats: the account's people and room to grow, from a stream of their own so the rest stays as it was.
    people_per_account = people["account_id"].value_counts()
    room = pd.Series(np.random.default_rng([world.seed, 13]).uniform(1.0, 2.0, n), index=accounts["account_id"])
    seats = np.ceil(people_per_account.reindex(room.index, fill_value=1) * room)
    contracts = contracts.assign(seats=contracts["account_id"].map(seats).astype(int))

    # Each account is active from its first start until it churns, or until as_of.
    active_until = np.minimum(np.where(decided & ~renewed, end, as_of), as_of)
    terms = annual.assign(account=np.r_[np.arange(n), np.flatnonzero(again)])  # goals follow the annual terms

    tables = {
        "accounts": accounts.drop(columns="segment_code"),
        "contracts": contracts,
        "contacts": people[["contact_id", "account_id", "role", "name", "email"]],
    }
    tables["usage"] = _usage(rng, world, people, drivers, start, active_until, decided & ~renewed)
    tables["surveys"] = _surveys(rng, world, people, drivers, start, active_until)
    tables["health_scores"] = _health_scores(
        rng, world, people, drivers, accounts, start, active_until, touches["first_scores"]
    )
    goals, progress, inputs = _goals(rng, terms, drivers, active_until, world.curve)
    tables.update(goals=goals, goal_progress=progress, goal_inputs=inputs)
    tables["referrals"] = _referrals(rng, accounts, drivers, arr, start, active_until)
    # A stream of its own, so that the contract's tables do not change with this table.
    tables["support_tickets"] = _tickets(
        np.random.default_rng([world.seed, 7]), world, accounts, drivers, start, active_until
    )
    tables["activities"] = _activities(touches, accounts, people, start, active_until)
    truth = {k: v for k, v in drivers.items() if k != "person"}
    truth.update({k: touches[k] for k in ("onset", "timely", "automated_timely", "book")})
    # The renewal chance of each account with and without a timely touch of each kind, for the true effects.
    actual = (touches["timely"], touches["automated_timely"])

    def churn_chance(human, automated):
        return 1 - _decide(np.random.default_rng(0), world, drivers, human, automated, calibrate_with=actual)[2]

    truth["p_churn_touched"] = churn_chance(np.full(n, True), touches["automated_timely"])
    truth["p_churn_untouched"] = churn_chance(np.full(n, False), touches["automated_timely"])
    truth["p_churn_automated"] = churn_chance(touches["timely"], np.full(n, True))
    truth["p_churn_not_automated"] = churn_chance(touches["timely"], np.full(n, False))
    tables["truth"] = pd.DataFrame({"account_id": accounts["account_id"], **truth})
    return tables


def _accounts(rng, world: World) -> pd.DataFrame:
    n = world.accounts
    segment = rng.choice(3, n, p=[0.5, 0.35, 0.15])
    names = np.char.add(np.char.add(rng.choice(NAME_WORDS, n), " "), rng.choice(NAME_SUFFIX, n))
    names = np.char.add(np.char.add(names, " "), np.arange(n).astype(str))
    if world.hostile_names:
        names = np.char.add(names, ' <script>alert("x")</script><b onmouseover="x()">&amp;')
    return pd.DataFrame(
        {
            "account_id": [f"A{i:06d}" for i in range(n)],
            "account_name": names,
            "segment": SEGMENTS[segment],
            "csm": np.char.add("CSM ", rng.integers(1, max(2, n // 60) + 1, n).astype(str)),
            "region": rng.choice(REGIONS, n),
            "industry": rng.choice(INDUSTRIES, n),
            "segment_code": segment,
        }
    )


def _people(rng, world: World) -> pd.DataFrame:
    n = world.accounts
    has_dm = rng.random(n) < world.decision_maker_coverage
    champions = (rng.random(n) < 0.85).astype(int) + (rng.random(n) < 0.2)
    end_users = 1 + rng.poisson(world.end_users_per_account - 1, n)
    others = rng.poisson(0.4, n)
    counts = np.stack([has_dm.astype(int), champions, end_users, others], axis=1)
    account = np.repeat(np.repeat(np.arange(n), 4), counts.ravel())
    role = np.tile(np.arange(4), n).repeat(counts.ravel())
    m = len(account)
    names = np.char.add("Person ", np.arange(m).astype(str))
    if world.hostile_names:
        names = np.char.add(names, "<img src=x onerror=alert(1)>")
    ids = np.char.add("C", np.char.zfill(np.arange(m).astype(str), 7))
    return pd.DataFrame(
        {
            "contact_id": ids,
            "account_id": np.char.add("A", np.char.zfill(account.astype(str), 6)),
            "role": ROLE_CODES[role],
            "name": names,
            "email": np.char.add(np.char.lower(ids), "@example.com"),
            "account": account,
            "role_code": role,
        }
    )


def _drivers(rng, world: World, people: pd.DataFrame) -> dict[str, np.ndarray]:
    n = world.accounts
    rho = world.sentiment_correlation
    shared = rng.standard_normal(n)
    account, role = people["account"].to_numpy(), people["role_code"].to_numpy()
    person = np.sqrt(rho) * shared[account] + np.sqrt(1 - rho) * rng.standard_normal(len(account))

    # The account-level driver of each role is its people's mean sentiment; an account without
    # anyone in a role falls back to the shared sentiment (unobserved, but still real).
    def role_mean(code):
        mask = role == code
        total = np.bincount(account[mask], person[mask], n)
        count = np.bincount(account[mask], minlength=n)
        return np.where(count > 0, total / np.maximum(count, 1), shared)

    return {
        "person": person,
        "decision_maker": role_mean(DM),
        "champion": role_mean(CHAMPION),
        "end_user": role_mean(END_USER),
        "nps_attitude": rng.standard_normal(n),
        "usage_intensity": rng.standard_normal(n),
        "health_factor": rng.standard_normal(n),
        "attainment": np.clip(0.95 + 0.35 * rng.standard_normal(n), 0.05, 2.2),
        "curve_shape": rng.uniform(0.7, 1.4, n),
    }


def _drift(drivers: dict, people: pd.DataFrame, shift: np.ndarray) -> None:
    """Every person's sentiment, and the roles' account-level drivers, moved by their account's `shift`."""
    drivers["person"] = drivers["person"] + shift[people["account"].to_numpy()]
    for role in ("decision_maker", "champion", "end_user"):
        drivers[role] = drivers[role] + shift


def _renewal_part(world: World, drivers) -> np.ndarray:
    """0-100 per account from the drivers that decide renewal, weighted as they weigh in `_decide`."""
    drive = (
        world.decision_maker_effect * drivers["decision_maker"]
        + world.champion_effect * drivers["champion"]
        + world.goal_effect * (drivers["attainment"] - 0.95) / 0.35
    )
    return np.clip(65 + 15 * (drive - drive.mean()) / max(drive.std(), 1e-9), 0, 100)


def _decide(
    rng, world: World, drivers, timely, automated, calibrate_with=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Renewal draws whose log-odds are the knobs' weighted sum of drivers (and of a timely human and a timely
    automated touch); the intercept gives the intended churn with the touches of `calibrate_with` (a pair,
    human and automated; by default `timely` and `automated`)."""
    goal = (drivers["attainment"] - 0.95) / 0.35
    base = (
        world.nps_effect * drivers["nps_attitude"]
        + world.usage_effect * drivers["usage_intensity"]
        + world.health_effect * drivers["health_factor"]
        + world.decision_maker_effect * drivers["decision_maker"]
        + world.champion_effect * drivers["champion"]
        + world.end_user_effect * drivers["end_user"]
        + world.goal_effect * goal
    )
    touched, automatic = (timely, automated) if calibrate_with is None else calibrate_with
    calibrating = base + world.touch_effect * touched + world.automated_effect * automatic
    value_churn = max(world.base_churn - world.external_churn, 0.005)
    low, high = -20.0, 20.0  # intercept giving the intended mean churn, by bisection
    for _ in range(60):
        mid = (low + high) / 2
        churn = 1 - 1 / (1 + np.exp(-(mid + calibrating)))
        low, high = (mid, high) if churn.mean() > value_churn else (low, mid)
    p_renew = 1 / (1 + np.exp(-(low + base + world.touch_effect * timely + world.automated_effect * automated)))
    draws = rng.random(len(base))
    external = rng.random(len(base)) < world.external_churn
    renewed = (draws < p_renew) & ~external
    reason = np.where(external, "external", np.where(rng.random(len(base)) < 0.15, "unknown", "value"))
    return renewed, reason, p_renew * (1 - world.external_churn)


def _touch_plan(rng, world: World, accounts, people, drivers, start, new, as_of) -> dict:
    """Who owns each account, when its first term turns visibly at risk, and its human touches up to as_of.

    The decision maker's monthly health scores of the first term are drawn here (the health-score table
    shows these very values), so the CSM reacts to the score the workbench reads: an account turns at risk
    at the first monthly checkpoint (5, 35, 65, ... days into the term) where its decision maker's latest
    score is red, or else is checked at a quarter's mark (day 95). A red decision maker is answered with a
    human touch with a chance that rises with how red (`risk_targeting`), after a delay that grows with the
    CSM's book (counted from `risk_seen_early_days` before the onset); touches come regardless of risk too,
    rarer in bigger books, and reviews on a cadence (`routine_cadence_days`). A human touch from the day the CSM
    could see the risk to TIMELY_DAYS after the onset is timely, unless it is a review (channel qbr)."""
    n = len(accounts)
    csms = max(2, n // 60)
    share = rng.lognormal(0, 0.6, csms)
    owner = rng.choice(csms, n, p=share / share.sum())
    book = np.bincount(owner, minlength=csms)[owner].astype(float)
    slowdown = (book / np.median(book)) ** world.book_slowdown

    decision_makers = people.loc[people["role_code"] == DM]
    dm_of = np.full(n, -1)
    dm_of[decision_makers["account"].to_numpy()] = decision_makers.index.to_numpy()
    first_scores = np.clip(
        np.round(55 + 15 * drivers["person"][np.maximum(dm_of, 0)][:, None] + rng.normal(0, 6, (n, 13)), 1), 0, 100
    )
    first_scores[dm_of < 0] = np.nan
    checkpoint = start[:, None] + 5 + 30 * np.arange(12)
    month = (checkpoint.astype("datetime64[M]") - start.astype("datetime64[M]")[:, None]).astype(int)
    seen = np.take_along_axis(first_scores, np.minimum(month, 12), axis=1)
    red = seen < RED_BELOW
    red_onset = np.where(red.any(axis=1), 5 + 30 * red.argmax(axis=1), -1)
    onset_day = np.where(red_onset >= 0, red_onset, 95)
    onset = start + onset_day
    redness = (RED_BELOW - seen[np.arange(n), np.maximum(red_onset, 0) // 30]) / 10
    answers = (red_onset >= 0) & ~new & (rng.random(n) < 1 / (1 + np.exp(-(-0.8 + world.risk_targeting * redness))))
    seen_from = np.maximum(onset - world.risk_seen_early_days, start)
    answer = seen_from + np.ceil(rng.exponential(world.touch_delay_days * slowdown)).astype(int)

    span = np.maximum((as_of - start).astype(int), 0)
    routine = rng.poisson(span / (world.other_touch_days * slowdown))
    who = np.repeat(np.arange(n), routine)
    day = start[who] + (rng.random(len(who)) * span[who]).astype(int)
    channel = rng.choice(HUMAN_CHANNELS, len(who), p=[0.4, 0.3, 0.25, 0.05])
    reached = np.r_[np.full(len(who), -1), dm_of[answers]]  # an answer to a red decision maker reaches them
    answered = np.flatnonzero(answers)
    channel = np.r_[channel, rng.choice(HUMAN_CHANNELS[:3], len(answered), p=[0.45, 0.3, 0.25])]
    who, day = np.r_[who, answered], np.r_[day, answer[answers]]
    if world.routine_cadence_days > 0:
        reviews = span // world.routine_cadence_days
        reviewed = np.repeat(np.arange(n), reviews)
        phase = rng.integers(0, world.routine_cadence_days, n)[reviewed]
        step = np.arange(len(reviewed)) - np.repeat(np.cumsum(reviews) - reviews, reviews)
        who = np.r_[who, reviewed]
        day = np.r_[day, start[reviewed] + phase + step * world.routine_cadence_days]
        reached = np.r_[reached, np.full(len(reviewed), -1)]
        channel = np.r_[channel, np.full(len(reviewed), "qbr")]
    in_window = (day >= seen_from[who]) & (day <= onset[who] + TIMELY_DAYS) & (channel != "qbr")
    playbook = np.zeros(n, dtype=bool)
    if world.playbook_share > 0:  # drawn only where asked for: the default world's stream stays as it was
        playbook = (red_onset >= 0) & (rng.random(n) < world.playbook_share)
    fired = np.flatnonzero(playbook)
    # The red score is dated at its calendar month's start: the data show it then (or at the term's start).
    reading = (start.astype("datetime64[M]") + month[np.arange(n), red.argmax(axis=1)]).astype("datetime64[D]")
    shown = np.maximum(reading, start)
    fired_day = shown[fired] + rng.integers(0, PLAYBOOK_DAYS + 1, len(fired)) if len(fired) else fired
    return {
        "csm": np.char.add("CSM ", (owner + 1).astype(str)),
        "book": book,
        "onset": onset.astype("datetime64[D]"),
        "timely": np.bincount(who[in_window], minlength=n) > 0,
        "automated_timely": playbook,  # the playbook's answer carries `automated_effect`; other automated do not
        "human": (who, day.astype("datetime64[D]"), reached, channel),
        "playbook": (fired, np.asarray(fired_day).astype("datetime64[D]")),
        "bot_touch_days": world.bot_touch_days,
        "first_scores": (dm_of, first_scores),
        "rng": rng,
    }


def _activities(touches, accounts, people, start, active_until) -> pd.DataFrame:
    """The CS team's human touches (answers to risk, which reach the decision maker, and routine ones) and
    automated ones, while the account is active."""
    rng = touches["rng"]
    who, day, reached, channel = touches["human"]
    kept = day <= active_until[who]
    who, day, reached, channel = who[kept], day[kept], reached[kept], channel[kept]
    span = np.maximum((active_until - start).astype(int), 0)
    bot = np.repeat(np.arange(len(accounts)), rng.poisson(span / touches["bot_touch_days"]))
    bot_day = start[bot] + (rng.random(len(bot)) * span[bot]).astype(int)
    fired, fired_day = touches["playbook"]
    kept = fired_day <= active_until[fired]
    bot, bot_day = np.r_[bot, fired[kept]], np.r_[bot_day.astype("datetime64[D]"), fired_day[kept]]
    frame = pd.DataFrame(
        {
            "account_id": accounts["account_id"].to_numpy()[np.r_[who, bot]],
            "contact_id": np.r_[
                np.where(reached >= 0, people["contact_id"].to_numpy()[np.maximum(reached, 0)], None),
                np.full(len(bot), None),
            ],
            "date": np.r_[day, bot_day].astype("datetime64[D]"),
            "kind": np.repeat(["human", "automated"], [len(who), len(bot)]),
            "channel": np.r_[
                channel,
                rng.choice(AUTOMATED_CHANNELS, len(bot) - kept.sum(), p=[0.6, 0.3, 0.1]),
                np.full(kept.sum(), "email"),
            ],
            "csm": np.r_[touches["csm"][who], np.full(len(bot), None)],
        }
    )
    return frame.sort_values(["date", "account_id"], kind="stable").reset_index(drop=True)


def _more_products(rng, world: World, contracts: pd.DataFrame, renewed, p_renew, reason, growth) -> pd.DataFrame:
    """Concurrent subscriptions: each account's first product as drawn, and `products - 1` more whose
    renewal follows the first one's with chance `outcome_correlation` and is drawn afresh otherwise
    (with the same probability, so the planted drivers act on every product alike)."""
    first = contracts.loc[contracts["contract_id"].str[1:].astype(int) < len(renewed)].reset_index(drop=True)
    account = np.arange(len(first))
    decided = first["outcome"] != "open"
    parts = [contracts]
    for product in range(1, world.products):
        follows = rng.random(len(first)) < world.outcome_correlation
        own = np.where(follows, renewed, rng.random(len(first)) < p_renew)
        arr = np.round(first["arr"].to_numpy() * rng.uniform(0.2, 1.0, len(first)), -2)
        renewal = np.where(own, np.round(arr * growth[account], -2), 0.0)
        term = first.assign(
            contract_id=[f"K{i:07d}-P{product}" for i in account],
            arr=arr,
            outcome=np.where(decided, np.where(own, "renewed", "churned"), "open"),
            renewal_arr=np.where(decided, renewal, np.nan),
            churn_reason=np.where(decided & ~own, reason, None),
        )
        again = decided & own
        follow_on = first.loc[again].assign(
            contract_id=[f"K{i:07d}-P{product}-2" for i in account[again]],
            start_date=first.loc[again, "end_date"],
            end_date=first.loc[again, "end_date"] + np.timedelta64(TERM_DAYS, "D"),
            arr=renewal[again],
            outcome="open",
            renewal_arr=np.nan,
            churn_reason=None,
        )
        parts += [term, follow_on]
    return pd.concat(parts, ignore_index=True)


def _billing_terms(rng, contracts: pd.DataFrame, months: int, as_of: np.datetime64) -> pd.DataFrame:
    """Each annual term cut into billing terms of `months`. A year that renews renews every term at the same
    ARR, its last term at the next year's; a year that churns does so at a term drawn evenly among its
    terms (subscribers leave in any month), the terms before it renewing. Terms still open at as_of end
    with the one covering it."""
    pieces = 12 // months
    churn_at = np.where(
        contracts["outcome"].to_numpy() == "churned", rng.integers(0, pieces, len(contracts)), pieces - 1
    )
    cut = contracts.loc[contracts.index.repeat(pieces)].reset_index(drop=True)
    k = np.tile(np.arange(pieces), len(contracts))
    decided_at = np.repeat(churn_at, pieces)
    start = pd.to_datetime(contracts["start_date"]).to_numpy().astype("datetime64[D]")
    origin = np.repeat(start, pieces)
    cut["start_date"] = origin + np.round(k * TERM_DAYS / pieces).astype("timedelta64[D]")
    cut["end_date"] = origin + np.round((k + 1) * TERM_DAYS / pieces).astype("timedelta64[D]")
    last = k == decided_at
    open_year = cut["outcome"].to_numpy() == "open"
    ended = cut["end_date"].to_numpy() <= as_of
    cut["outcome"] = np.where(last, cut["outcome"], np.where(open_year & ~ended, "open", "renewed"))
    cut["renewal_arr"] = np.where(last, cut["renewal_arr"], np.where(open_year & ~ended, np.nan, cut["arr"]))
    cut["churn_reason"] = np.where(last, cut["churn_reason"], None)
    cut["contract_id"] = cut["contract_id"] + "-" + (k + 1).astype(str)
    keep = ((cut["start_date"].to_numpy() <= as_of) | ~open_year) & (k <= decided_at)
    return cut.loc[keep].reset_index(drop=True)


def _months(start: np.ndarray, until: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calendar month starts from each owner's start month through its `until`: (owner, date, month number)."""
    first = start.astype("datetime64[M]")
    count = np.maximum((until.astype("datetime64[M]") - first).astype(int) + 1, 0)
    rows = np.repeat(np.arange(len(owner)), count)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count)
    dates = (first[rows] + offset).astype("datetime64[D]")
    return owner[rows], dates, offset


def _usage(rng, world: World, people, drivers, start, active_until, churned) -> pd.DataFrame:
    account = people["account"].to_numpy()
    person_idx, dates, _ = _months(start[account], active_until[account], np.arange(len(people)))
    role = people["role_code"].to_numpy()[person_idx]
    acct = account[person_idx]
    base = np.array([2.0, 25.0, 40.0, 8.0])[role]
    rate = base * np.exp(0.6 * drivers["usage_intensity"][acct] + 0.25 * drivers["person"][person_idx])
    if world.usage_drop_days:
        late = churned[acct] & (dates > active_until[acct] - np.timedelta64(world.usage_drop_days, "D"))
        rate = np.where(late, rate * (1 - world.usage_drop), rate)
    k = world.features
    feature = np.tile(FEATURES[:k], len(rate)) if k > 1 else None
    events = rng.poisson(np.repeat(rate / k * rng.gamma(4, 0.25, len(rate)), k)).astype(float)
    frame = pd.DataFrame(
        {
            "account_id": people["account_id"].to_numpy()[np.repeat(person_idx, k)],
            "contact_id": people["contact_id"].to_numpy()[np.repeat(person_idx, k)],
            "date": np.repeat(dates, k),
            "feature": feature if feature is not None else FEATURES[0],
            "events": events,
        }
    )
    return frame


def _surveys(rng, world: World, people, drivers, start, active_until) -> pd.DataFrame:
    account = people["account"].to_numpy()
    person_idx, dates, month = _months(start[account], active_until[account], np.arange(len(people)))
    quarterly = month % 3 == 2
    person_idx, dates = person_idx[quarterly], dates[quarterly]
    role = people["role_code"].to_numpy()[person_idx]
    rates = np.array(
        [
            world.response_rate_decision_maker,
            world.response_rate_champion,
            world.response_rate_end_user,
            world.response_rate_other,
        ]
    )
    answered = rng.random(len(person_idx)) < rates[role]
    dates = dates + rng.integers(0, 20, len(dates))
    answered &= dates <= active_until[account[person_idx]]
    person_idx, dates, role = person_idx[answered], dates[answered], role[answered]
    acct = account[person_idx]
    mood = np.array([-0.3, 0.2, 0.6, 0.0])[role] + drivers["person"][person_idx]
    score = np.clip(
        np.round(
            7.0
            + 1.3 * mood
            + 1.6 * drivers["nps_attitude"][acct]
            + world.nps_day_noise * rng.standard_normal(len(acct))
        ),
        0,
        10,
    )
    m = len(acct)
    return pd.DataFrame(
        {
            "response_id": np.char.add("R", np.char.zfill(np.arange(m).astype(str), 8)),
            "account_id": people["account_id"].to_numpy()[person_idx],
            "contact_id": people["contact_id"].to_numpy()[person_idx],
            "date": dates,
            "survey": "nps",
            "score": score,
        }
    )


def _health_scores(rng, world: World, people, drivers, accounts, start, active_until, first_scores) -> pd.DataFrame:
    n = world.accounts
    acct, dates, _ = _months(start, active_until, np.arange(n))
    noise = lambda size: rng.normal(0, 6, size)  # noqa: E731
    usage_part = np.clip(70 + 20 * drivers["usage_intensity"][acct] + noise(len(acct)), 0, 100)
    survey_part = np.clip(
        72 + 15 * drivers["end_user"][acct] + 8 * drivers["nps_attitude"][acct] + noise(len(acct)), 0, 100
    )
    support_part = np.clip(68 + 20 * drivers["health_factor"][acct] + noise(len(acct)), 0, 100)
    overall = 0.4 * usage_part + 0.3 * survey_part + 0.3 * support_part
    if world.score_alignment:
        overall = (1 - world.score_alignment) * overall + world.score_alignment * _renewal_part(world, drivers)[acct]
    overall = np.round(overall, 1)
    account_level = pd.DataFrame(
        {
            "account_id": accounts["account_id"].to_numpy()[acct],
            "contact_id": None,
            "date": dates,
            "score": overall,
            "component_usage": np.round(usage_part, 1),
            "component_survey": np.round(survey_part, 1),
            "component_support": np.round(support_part, 1),
        }
    )
    account = people["account"].to_numpy()
    person_idx, pdates, month = _months(start[account], active_until[account], np.arange(len(people)))
    score = np.clip(np.round(55 + 15 * drivers["person"][person_idx] + noise(len(person_idx)), 1), 0, 100)
    # The decision makers' first-term scores the touch plan drew (and their CSMs saw).
    dm_of, planned = first_scores
    owner = account[person_idx]
    drawn = (dm_of[owner] == person_idx) & (month <= 12)
    score[drawn] = planned[owner[drawn], month[drawn]]
    person_level = pd.DataFrame(
        {
            "account_id": people["account_id"].to_numpy()[person_idx],
            "contact_id": people["contact_id"].to_numpy()[person_idx],
            "date": pdates,
            "score": score,
        }
    )
    return pd.concat([account_level, person_level], ignore_index=True)


# Progress toward a goal as a share of its final attainment, by the share of the term elapsed (0 to 1).
CURVES = {
    "linear": lambda e: e,
    "concave": lambda e: (1 - np.exp(-4 * e)) / (1 - np.exp(-4)),  # fast early progress that saturates
    "convex": lambda e: e**2.2,  # slow start, late surge
    "s": lambda e: (1 / (1 + np.exp(-10 * (e - 0.5))) - 1 / (1 + np.exp(5))) / (1 - 2 / (1 + np.exp(5))),
    "stalled": lambda e: np.minimum(e / 0.4, 1.0),  # all the progress early, then none
}


def _goals(
    rng, terms: pd.DataFrame, drivers, active_until, curve: str = "mixed"
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    g = len(terms)
    account = terms["account"].to_numpy()
    kind = rng.integers(0, len(GOALS), g)
    metric = np.array([m for m, _, _ in GOALS])[kind]
    scale = rng.lognormal(0, 0.3, g)
    baseline = np.array([b for _, b, _ in GOALS])[kind] * scale
    target = np.array([t for _, _, t in GOALS])[kind] * scale
    start = terms["start_date"].to_numpy().astype("datetime64[D]")
    target_date = terms["end_date"].to_numpy().astype("datetime64[D]")
    # Later terms restart from a fresh goal; their final attainment varies around the account's own.
    final = np.where(
        terms.index < len(drivers["attainment"]),
        drivers["attainment"][account],
        np.clip(drivers["attainment"][account] + rng.normal(0, 0.2, g), 0.05, 2.2),
    )
    goals = pd.DataFrame(
        {
            "goal_id": np.char.add("G", np.char.zfill(np.arange(g).astype(str), 7)),
            "account_id": terms["account_id"].to_numpy(),
            "metric": metric,
            "baseline": np.round(baseline, 1),
            "target": np.round(target, 1),
            "start_date": start,
            "target_date": target_date,
        }
    )
    until = np.minimum(active_until[account], target_date)
    goal_idx, dates, month = _months(start, until, np.arange(g))
    elapsed = np.clip((dates - start[goal_idx]).astype(int) / TERM_DAYS, 0, 1)
    shape = drivers["curve_shape"][account][goal_idx]
    progressed = elapsed**shape if curve == "mixed" else CURVES[curve](elapsed)
    attainment = final[goal_idx] * progressed + rng.normal(0, 0.03, len(goal_idx))
    value = goals["baseline"].to_numpy()[goal_idx] + attainment * (target - baseline)[goal_idx]
    progress = pd.DataFrame(
        {"goal_id": goals["goal_id"].to_numpy()[goal_idx], "date": dates, "value": np.round(value, 2)}
    )
    # Inputs track attainment, one of them the bottleneck of each goal.
    k = len(GOAL_INPUTS)
    rows = np.repeat(np.arange(len(goal_idx)), k)
    which = np.tile(np.arange(k), len(goal_idx))
    bottleneck = rng.integers(0, k, g)[goal_idx][rows] == which
    pace = final[goal_idx][rows] * np.where(bottleneck, 0.8, 1.1) + rng.normal(0, 0.08, len(rows))
    input_target = np.array([30.0, 12.0, 6.0])[which] * scale[goal_idx][rows]
    inputs = pd.DataFrame(
        {
            "goal_id": goals["goal_id"].to_numpy()[goal_idx][rows],
            "date": dates[rows],
            "input": GOAL_INPUTS[which],
            "value": np.round(np.maximum(pace, 0) * input_target, 1),
            "target": np.round(input_target, 1),
        }
    )
    return goals, progress, inputs


def _referrals(rng, accounts, drivers, arr, start, active_until) -> pd.DataFrame:
    n = len(accounts)
    propensity = -2.6 + 0.8 * drivers["champion"] + 1.5 * (drivers["attainment"] - 1)
    referred = rng.random(n) < 1 / (1 + np.exp(-propensity))
    span = np.maximum((active_until - start).astype(int), 1)
    dates = start + (rng.random(n) * span).astype(int)
    return pd.DataFrame(
        {
            "account_id": accounts["account_id"].to_numpy()[referred],
            "date": dates[referred],
            "arr": np.round(arr[referred] * rng.lognormal(-0.5, 0.4, referred.sum()), -2),
        }
    )


def _tickets(rng, world: World, accounts, drivers, start, active_until) -> pd.DataFrame:
    months = np.maximum((active_until - start).astype(int), 1) / 30.4
    rate = 1.0 * np.exp(world.ticket_effect * (1 - drivers["attainment"]))
    counts = rng.poisson(rate * months)
    owner = np.repeat(np.arange(len(accounts)), counts)
    span = np.maximum((active_until - start).astype(int), 1)[owner]
    return pd.DataFrame(
        {
            "ticket_id": [f"T{i:08d}" for i in range(len(owner))],
            "account_id": accounts["account_id"].to_numpy()[owner],
            "opened": start[owner] + (rng.random(len(owner)) * span).astype(int),
            "priority": rng.choice(["low", "normal", "high"], len(owner), p=[0.3, 0.55, 0.15]),
        }
    )


def write(tables: dict[str, pd.DataFrame], out: str | Path, fmt: str = "csv") -> Path:
    """Write the contract tables (not the truth) as one file each."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if name == "truth":
            continue
        frame = _dates_as_text(frame)
        if fmt == "parquet":
            frame.to_parquet(out / f"{name}.parquet", index=False)
        else:
            frame.to_csv(out / f"{name}.csv", index=False)
    tables["truth"].to_csv(out / "_truth.csv", index=False)
    return out


def _dated(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]


def _dates_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates written YYYY-MM-DD, as the contract's files hold them."""
    return frame.assign(**{c: frame[c].dt.strftime("%Y-%m-%d") for c in _dated(frame)})


ACCOUNTS_AT_A_TIME = 50_000  # a chunk's world takes about 1.5 GB to make; larger worlds are written chunk by chunk


def write_in_chunks(
    world: World, out: str | Path, fmt: str = "parquet", chunk_accounts: int = ACCOUNTS_AT_A_TIME, progress=None
) -> Path:
    """Write `world` in bounded memory: up to `chunk_accounts` it is `write(generate(world))`; beyond, it is
    made `chunk_accounts` at a time and appended to one file per table. Each chunk is a world of its own
    (its own random stream, CSMs and referrals, the same knobs) whose IDs and CSM names start with the
    chunk's number, so they stay unique."""
    if world.accounts <= chunk_accounts:
        return write(generate(world), out, fmt)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, _Appender] = {}
    starts = range(0, world.accounts, chunk_accounts)
    try:
        for number, start in enumerate(starts):
            seed = int(np.random.SeedSequence([world.seed, number]).generate_state(1)[0])
            part = replace(world, accounts=min(chunk_accounts, world.accounts - start), seed=seed)
            tables = generate(part)
            for name, frame in tables.items():
                path = out / ("_truth.csv" if name == "truth" else f"{name}.{fmt}")
                files.setdefault(name, _Appender(path))
                files[name].append(_chunk_ids(frame, f"{number:03d}-"))
            del tables
            if progress:
                progress(f"chunk {number + 1}/{len(starts)} written ({start + part.accounts:,} accounts)")
    finally:
        for appender in files.values():
            appender.close()
    return out


def _chunk_ids(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    named = [c for c in frame.columns if c.endswith("_id") or c == "csm"]
    return frame.assign(**{c: prefix + frame[c] for c in named})


class _Appender:
    """One table's file, written a chunk at a time: Parquet through one writer, CSV by appending rows."""

    def __init__(self, path: Path):
        self.path, self.writer, self.started = path, None, False

    def append(self, frame: pd.DataFrame) -> None:
        if self.path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            for column in _dated(frame):  # as _dates_as_text, in Arrow (strftime costs minutes at 1M accounts)
                dates = table[column].cast(pa.date32()).cast(pa.string())
                table = table.set_column(table.schema.get_field_index(column), column, dates)
            if self.writer is None:
                schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema])
                self.writer = pq.ParquetWriter(self.path, schema.remove_metadata())
            self.writer.write_table(table.cast(self.writer.schema))
        else:
            mode = "a" if self.started else "w"
            _dates_as_text(frame).to_csv(self.path, mode=mode, header=not self.started, index=False)
        self.started = True

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
