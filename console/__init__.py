"""The web console: the platform's people in a browser, fully offline, in Chinese first.

Served by ``masterdata serve`` at ``/console`` (mounted into the serving API's application by
:func:`console.web.install`), every asset shipped in this package.  Who sees what:

* **stewards** - the review queue (both records side by side, the match weight as a waterfall of
  what each comparison added, the rule that queued the pair), the same waterfall for any two
  records or a whole master (``/steward/explain``), match / not a match, split, merge,
  the decision log with undo; a master's golden record with the source of each value, history,
  cross-references, licences and relations; search; ingestion status;
* **analysts** - the quality dashboard (GB/T 36344 dimensions, departments by name) and the
  once-only figures; ingestion status;
* **department users** - lookups and searches within their grants, labels beside codes, their
  grants and purposes;
* **applicants** - arrive through the identity platform's session and use the hall: a service
  item's form pre-filled, materials held or to upload, preview and consent.

Where it sits: above ``quality`` and ``warehouse`` (it reads the quality store and calls the
serving layer's service functions), below nothing - the serving API finds it by name.  Accounts:
``masterdata users create`` (:mod:`console.cli`).  Modules: :mod:`.web` (application, sessions,
roles), :mod:`.pages` (one router per audience), :mod:`.accounts`, :mod:`.review`,
:mod:`.goldread`, :mod:`.waterfall`, :mod:`.lakestatus`, :mod:`.dashboard`, :mod:`.labels`.
"""
