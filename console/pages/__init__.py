"""The console's pages, one router per audience (each page declares the roles it admits).

* :mod:`.steward` - review queue, a pair side by side, decisions and their undo, masters, search;
* :mod:`.ingestion` - per source: batches, rows landed, quarantine, reconciliation, watermarks;
* :mod:`.quality` - the analysts' dashboard: scorecards, trends, defects, once-only figures;
* :mod:`.department` - lookups and searches within the department's grants; its grants;
* :mod:`.hall` - the applicant's page: a service item's form pre-filled, materials, consent.
"""

from __future__ import annotations

from fastapi import APIRouter

from console.pages import department, hall, ingestion, quality, steward

ROUTERS: tuple[APIRouter, ...] = (steward.router, ingestion.router, quality.router, department.router,
                                  hall.router)
