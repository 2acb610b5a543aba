"""What each of the 32 departments holds: one builder per source, selecting its subset of the world.

A builder returns, per table of the source spec, an :class:`Extract`: the rows it holds as TRUE values
in the unified standard (person ids for id and name columns, standard codes, real dates) plus the
true person / entity / licence behind each row, its columns keyed by the element of the standard
they carry and bound to the spec's native column names (:func:`~.columns.bind`).
:mod:`pipelines.synthetic.render` then turns an extract into the department's native form and
injects its defects, so the builders stay a readable statement of coverage ("medical security: 95 %
of the living, most infants, some of the recently dead") and nothing here knows about encodings,
typos or native column names.

Modules: :mod:`.columns` (the column model, binding), :mod:`.context` (what a builder sees),
:mod:`.subjects` (columns from a row's person / entity / licence, licence registers),
:mod:`.persons`, :mod:`.person_licences`, :mod:`.entities` (the builders), :mod:`.build`.
"""

from pipelines.synthetic.extracts.build import BUILDERS, REGISTERS, build_extracts
from pipelines.synthetic.extracts.columns import Col, Extract, ExtractError
from pipelines.synthetic.extracts.context import Ctx

__all__ = ["BUILDERS", "REGISTERS", "Col", "Ctx", "Extract", "ExtractError", "build_extracts"]
