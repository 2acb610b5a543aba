"""Request and response shapes of the HTTP API: every response is validated against its model, so
the OpenAPI document says what the service really returns.

The fields of a department's answer depend on its grants: :func:`fields_model` makes one model per
master from the element dictionary (every element optional, typed as the dictionary types it, no
other key allowed) and the department endpoints serialise with ``exclude_unset`` - an element
*absent* from ``fields`` is withheld (``withheld`` says why), an element present with ``null`` is
allowed but not held.  The element dictionary is data, so these models follow it.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from standards.dictionary import dictionary
from warehouse.api.autofill import UploadReason


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="a URI naming the kind of problem")
    title: str
    status: int
    detail: str
    reason: str | None = Field(None, description="for a rejected identifier: the validator's reason code; for "
                               "an element not granted: why it is withheld")
    reason_text: str | None = None
    element: str | None = Field(None, description="the element the problem is about (person.id_number ...)")


PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**PROBLEM, "description": "a body that cannot be read (not UTF-8 JSON)"},
    401: {**PROBLEM, "description": "no key, or an unknown or revoked key"},
    403: {**PROBLEM, "description": "the caller may not do this"},
    413: {**PROBLEM, "description": "a request body over the service's limit (MASTERDATA_SERVE_MAX_BODY)"},
    422: {**PROBLEM, "description": "a malformed request or identifier"},
    429: {**PROBLEM, "description": "the caller's rate limit is exhausted"},
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation: the refusals every operation may give, and ``codes``."""
    out = dict(COMMON_ERRORS)
    for c in codes:
        out[c] = {**PROBLEM, "description": {404: "not found", 409: "not in a state that allows it"}.get(c, "error")}
    return out


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(min_length=1, max_length=64, description="the applicant's resident ID number")
    name: str = Field(min_length=1, max_length=64, description="the applicant's name as authenticated")
    method: str = Field("face", max_length=32, description="how the identity platform authenticated him")


class SessionResponse(BaseModel):
    token: str
    expires_at: str
    person_master_id: str


class AutofillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_item: str = Field(pattern=r"^S[0-9]{4}$", description="service item code, e.g. S0001")
    uscc: str | None = Field(None, min_length=1, max_length=64,
                             description="for an entity item: the entity the applicant represents")
    id_number: str | None = Field(None, min_length=1, max_length=64,
                                  description="optional; if given it must be the applicant's own")
    concerning: str | None = Field(None, min_length=1, max_length=64,
                                   description="optional: the ID number of the relative the application is about "
                                               "(the newborn, the deceased); materials about him are served only "
                                               "if the masters record the relation")


class Source(BaseModel):
    department: str | None
    department_name: str | None
    table: str | None
    updated_at: str | None


class FieldValue(BaseModel):
    element: str
    label: str
    value: Any
    display: str | None
    prefilled: bool
    reason: Literal["not_held", "not_shared"] | None
    source: Source | None


class LicenceView(BaseModel):
    master_id: str | None
    identifier: str | None
    type_code: str | None
    type_name: str | None
    number: str | None
    issuer_name: str | None
    issuer_code: str | None
    issue_date: str | None
    valid_from: str | None
    valid_to: str | None
    status: str


class LicenceType(BaseModel):
    code: str
    name: str


Channel = Literal["申请人自备", "政府部门核发", "其他"]


class Subject(BaseModel):
    relation: str
    master_id: str
    name: str | None


class EvidenceStatement(BaseModel):
    """What a department attests from its records (or, for a held licence, its catalogue fields)."""

    kind: str
    title: str | None
    attests: str
    department: str | None
    department_name: str | None
    department_uscc: str | None
    about: dict[str, Any] = Field(description="relation to the applicant, master, master id, name")
    attested: dict[str, Any] = Field(description="element -> attested value")
    basis: Literal["department_records", "applicant_session", "licence_library"]
    records: list[dict[str, Any]] = Field(description="the department's source records of the subject")
    lineage: dict[str, Any] = Field(description="element -> the source record its value survived from")
    as_of: str
    build_id: str


class MaterialStatus(BaseModel):
    code: str
    material: str
    channel: Channel
    department: str | None = Field(description="the department that issues it (政府部门核发)")
    department_name: str | None
    about: str = Field(description="whom it is about: applicant, spouse, child, parent, deceased, household_member, "
                                   "legal_rep, represented_entity")
    licence_types: list[LicenceType]
    evidence_kinds: list[str]
    status: Literal["held", "evidence", "form", "to_upload", "not_required"]
    reason: UploadReason | None
    licence: LicenceView | None
    evidence: EvidenceStatement | None
    subject: Subject | None
    note: str | None


class Summary(BaseModel):
    fields: int
    prefilled: int
    materials: int = Field(description="required materials (those whose conditions hold)")
    held: int
    evidence: int
    form: int
    not_uploaded: int
    to_upload: int
    not_required: int


class ItemSummary(BaseModel):
    code: str
    name: str
    power_class: str
    department: str
    target: Literal["person", "entity"]
    hall: str
    level: str


class Applicant(BaseModel):
    kind: Literal["person", "entity"]
    master_id: str
    name: str | None
    acting_person_master_id: str


class Autofill(BaseModel):
    application_id: str
    status: str
    service_item: ItemSummary
    applicant: Applicant
    fields: list[FieldValue]
    materials: list[MaterialStatus]
    summary: Summary
    as_of: str
    build_id: str
    consent_url: str


class ConsentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agree: bool = Field(description="true: pass the application to the approving department; false: withdraw")


class ConsentResponse(BaseModel):
    application_id: str
    status: Literal["consented", "withdrawn"]
    consent_at: str
    department: str
    evidence_documents: int = Field(description="evidence documents sealed for the approving department")


class Seal(BaseModel):
    alg: Literal["Ed25519"]
    key_id: str
    signature: str


class EvidenceDocument(BaseModel):
    """A sealed evidence document (证明) as the approving department receives it: verify it with the
    platform's public key over the canonical JSON of everything but ``seal``."""

    document_id: str
    application_id: str
    service_item: dict[str, str]
    material: dict[str, str]
    issued_to: dict[str, str | None]
    issued_at: str
    statement: dict[str, Any]
    seal: Seal


class EvidenceDocuments(BaseModel):
    application_id: str
    count: int
    documents: list[EvidenceDocument]


class PublicKey(BaseModel):
    alg: Literal["Ed25519"]
    key_id: str
    public_key: str = Field(description="PEM (SubjectPublicKeyInfo)")


class Verdict(BaseModel):
    valid: bool
    reason: Literal["valid", "no_seal", "unknown_algorithm", "other_key", "bad_signature", "altered"]
    key_id: str | None
    document_id: Any = None


class Delivered(BaseModel):
    application_id: str
    status: str
    consent_at: str | None
    application: Autofill


class Withheld(BaseModel):
    element: str
    reason: Literal["not_shared", "no_grant", "above_clearance", "discloses"]
    follows: str | None = Field(None, description="for reason `discloses`: the withheld element whose values "
                                "this one holds (a spouse's ID number is a person.id_number); for licence.holder_id: "
                                "withheld for the holders identified by this element")


class WithheldType(BaseModel):
    """A licence type never listed for the purpose: its existence implies a withheld attribute."""

    type_code: str
    implies: str
    reason: Literal["not_shared", "no_grant", "above_clearance", "discloses"]


class SearchRequest(BaseModel):
    """A search: the filters (every field but ``limit``) and how many hits at most."""

    model_config = ConfigDict(extra="forbid")
    limit: int = Field(10, ge=1, le=50)

    def filters(self) -> dict[str, Any]:
        return self.model_dump(exclude={"limit"})


class PersonSearch(SearchRequest):
    name: str = Field(min_length=1, max_length=64, description="the name (homophones and traditional "
                      "characters match)")
    birth_date: date


class EntitySearch(SearchRequest):
    name: str = Field(min_length=1, max_length=100, description="the name, with or without the registration "
                      "prefix (安徽省亳州市...)")


SEARCH_REQUESTS: dict[str, type[SearchRequest]] = {"person": PersonSearch, "entity": EntitySearch}


#: JSON type of each dictionary type (dates and timestamps travel as ISO 8601 text)
JSON_TYPES: dict[str, Any] = {"varchar": str, "date": str, "timestamp": str, "decimal": float, "integer": int,
                              "boolean": bool}


@cache
def fields_model(master: str) -> type[BaseModel]:
    """The fields a department may receive of ``master``: each element of the dictionary, optional."""
    elements = dictionary().masters[master].elements
    spec: dict[str, Any] = {
        name: (JSON_TYPES[e.type] | None,
               Field(None, description=f"{e.label} ({e.sharing}, {e.grade})",
                     json_schema_extra={"format": "date"} if e.type == "date" else None))
        for name, e in elements.items()}
    return create_model(f"{master.title()}Fields", __config__=ConfigDict(extra="forbid", strict=True),
                        __doc__=f"Fields of one {master} master: only the elements the caller may receive "
                                f"for the purpose (absent: withheld).", **spec)


class Shared(BaseModel):
    """How a department answer was shaped: what was withheld and why, for which purpose, under which grants."""

    withheld: list[Withheld]
    purpose: str
    grants: list[str] = Field(description="ids of the grants that allowed conditional elements")
    withheld_licence_types: list[WithheldType] = Field(
        default_factory=list, description="licence types never shown for the purpose (the same for every "
        "subject): holding one would disclose a withheld attribute, e.g. 残疾人证 the disability category")


#: the code names of the coded fields returned, beside their codes
LABELS: tuple[Any, Any] = (dict[str, str], Field(default_factory=dict, description="the code table's name of each coded field "
                                                                 "returned (sex 2 -> 女, ethnicity 01 -> 汉族)"))


@cache
def record_model(master: str) -> type[BaseModel]:
    """One master record as a department receives it."""
    return create_model(f"{master.title()}Record", __base__=Shared,
                        master=(Literal["person", "entity", "licence"], ...), master_id=(str, ...),
                        fields=(fields_model(master), ...), labels=LABELS)


@cache
def licence_list_model() -> type[BaseModel]:
    """The licences a person or entity holds, as a department receives them."""
    row = create_model("LicenceRow", master_id=(str, ...), fields=(fields_model("licence"), ...), labels=LABELS)
    return create_model("LicenceList", __base__=Shared, holder=(Literal["person", "entity"], ...),
                        holder_master_id=(str, ...), licences=(list[row], ...))  # type: ignore[valid-type]


@cache
def search_result_model(master: str) -> type[BaseModel]:
    """The hits of a search, best first, each shaped like a record."""
    hit = create_model(f"{master.title()}SearchHit", master_id=(str, ...), score=(float, ...),
                       match=(Literal["exact", "homophone", "similar"], ...), fields=(fields_model(master), ...),
                       labels=LABELS)
    return create_model(f"{master.title()}SearchResult", __base__=Shared,
                        master=(Literal["person", "entity"], ...), results=(list[hit], ...))  # type: ignore[valid-type]


class MaterialOut(BaseModel):
    code: str
    material: str
    channel: Channel
    licence_types: list[str]
    evidence: list[str]
    department: str | None
    about: str
    conditions: list[str]


class ServiceItemOut(ItemSummary):
    action: str
    licence_type: str | None
    applies_if: list[str]
    event: str | None
    materials: list[MaterialOut]
    fields: list[str]


class ServiceItems(BaseModel):
    count: int
    items: list[ItemSummary]


class PurposeOut(BaseModel):
    purpose: str
    text: str
    general: bool = Field(description="a general purpose: stated without a grant, unconditional elements only")


class GrantOut(BaseModel):
    id: str
    purpose: str
    purpose_text: str
    owner: str = Field(description="the department that owns the data and approved the grant")
    owner_name: str | None
    elements: list[str]
    status: Literal["approved", "pending", "rejected", "revoked"]
    requested_at: str
    approved_at: str | None
    expires: str | None
    in_force: bool = Field(description="approved and within its dates today")


class DepartmentGrants(BaseModel):
    """What a department may receive before it asks: its grants, the purposes it may state, its clearance."""

    department: str
    department_name: str | None
    clearance: Literal["general", "important", "core"]
    as_of: str
    purposes: list[PurposeOut]
    grants: list[GrantOut]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    build_id: str | None
    snapshot_built_at: str | None
    error: str | None


class ExplainedPart(BaseModel):
    """What one comparison (or the prior) added to a pair's match weight."""

    comparison: str = Field(description="a comparison of the master's configuration, or 'prior'")
    level: int | None = Field(description="the level the pair reached (-1: a side is empty; null for the prior)")
    label: str = Field(description="the level's label (exact, same_pinyin, ... 'null', 'prior')")
    bits: float = Field(description="log2 Bayes factor the level added (the prior: log2 prior odds)")
    m: float | None
    u: float | None
    tf_bits: float = Field(description="part of the bits from the term-frequency adjustment of the value")


class ExplainedPair(BaseModel):
    left: str
    right: str
    parts: list[ExplainedPart] = Field(description="prior, then each comparison in the configuration's order")
    weight: float = Field(description="the sum of the parts' bits: the pair's match weight")
    probability: float
    verdict: Literal["match", "review", "no_match"]
    thresholds: dict[str, float]
    scored_weight: float | None = Field(description="the weight the build stored for a queued pair")
    note: str


class Explanations(BaseModel):
    master: str
    build_id: str | None
    explanations: list[ExplainedPair]
