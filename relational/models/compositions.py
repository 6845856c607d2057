"""What a sample or crystal is made of: components (per proposal), their types, and concentration units."""

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base

#: the embedded SQLite database may predate them: missing, they read as empty
_OPTIONAL = {"info": {"optional": True}}


class ComponentType(Base):
    __tablename__ = "ComponentType"
    __table_args__ = _OPTIONAL

    componentTypeId: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Component(Base):
    __tablename__ = "Component"
    __table_args__ = _OPTIONAL

    componentId: Mapped[int] = mapped_column(primary_key=True)
    componentTypeId: Mapped[int] = mapped_column(ForeignKey("ComponentType.componentTypeId"))
    proposalId: Mapped[int | None] = mapped_column(ForeignKey("Proposal.proposalId"))
    name: Mapped[str]
    composition: Mapped[str | None]


class ConcentrationType(Base):
    """A concentration unit (Diamond's also has ``active`` and ``proposalType``, read through the flavour)."""

    __tablename__ = "ConcentrationType"
    __table_args__ = _OPTIONAL

    concentrationTypeId: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    symbol: Mapped[str]
