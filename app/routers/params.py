"""Path and query parameter types the routers share, so each rule (id range, proposal name) is written once."""

from typing import Annotated

from fastapi import Path, Query

#: ISPyB's ids are unsigned 32-bit integers
MAX_ID = 2**32 - 1
#: py-ispyb's proposal name: code and number, e.g. `MX1`
PROPOSAL_PATTERN = r"^[\w-]+\d+$"

#: an object's id in the path
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
#: an optional filter on an object's id
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
#: an optional filter on a proposal's name
ProposalFilter = Annotated[str | None, Query(pattern=PROPOSAL_PATTERN, max_length=60)]
#: a proposal's name in the path
ProposalName = Annotated[str, Path(pattern=PROPOSAL_PATTERN, max_length=60, description="e.g. MX1")]
#: a result's id: a MongoDB ObjectId
ResultId = Annotated[str, Path(pattern=r"^[0-9a-f]{24}$", description="24 hexadecimal characters")]
