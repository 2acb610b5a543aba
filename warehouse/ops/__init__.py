"""Operating a deployment: backup and restore (:mod:`.backup`), the deployment check (:mod:`.doctor`)."""
