"""The HTTP routers, one per audience; each handler is one call to the service layer.

* :mod:`.identity` - the identity platform opens applicant sessions;
* :mod:`.hall` - the online service hall: auto-fill, the applicant's preview and consent;
* :mod:`.departments` - lookups, licence lists and search within grants; consented applications;
* :mod:`.evidence` - sealed evidence documents for the approving department; public key, verification;
* :mod:`.service_items` - the service-item catalogue (any caller);
* :mod:`.stewards` - the data stewards' systems: why a pair of records scored what it did;
* :mod:`.health` - liveness for the operator's monitoring (no key).

``create_app`` includes :data:`ROUTERS` in this order.
"""

from __future__ import annotations

from fastapi import APIRouter

from warehouse.api.routers import departments, evidence, hall, health, identity, service_items, stewards

ROUTERS: tuple[APIRouter, ...] = (health.router, service_items.router, identity.router, hall.router,
                                  departments.router, evidence.router, stewards.router)
