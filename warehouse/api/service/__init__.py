"""The serving API's service layer: what each caller may do, without HTTP.

Plain classes and functions over :class:`~warehouse.api.service.state.ServingState` (the store,
the read model, the grants, the catalogue of one server process).  The HTTP routers are thin
wrappers around them, and the console (issue 15) and the CLI call the same functions, so a rule -
who may see which field, what an applicant may reach, what is audited - is written once.

* :mod:`.state` - the app-state object every request uses;
* :mod:`.audit` - :class:`~.audit.Access`, one access as the audit log records it, and its write;
* :mod:`.access` - API key -> caller, rate limit, kind of caller; applicant sessions;
* :mod:`.sharing` - field shaping by the grants in force for a department and purpose;
* :mod:`.masters` - department lookups, licence lists and search: one implementation over the
  three master kinds, each kind a declaration;
* :mod:`.identity` - opening applicant sessions (identity platform);
* :mod:`.applications` - the hall's auto-fill, preview and consent; delivery to the department;
* :mod:`.evidence` - evidence documents sealed at consent, for the approving department only; the
  public key and verification.

Refusals are :mod:`warehouse.api.errors` exceptions (``core.errors.MasterdataError``); a function
records its own successful access and leaves the refusal's audit entry to whoever renders it.
"""
