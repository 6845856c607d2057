"""Workflows (MXCuBE's characterisation, mesh and centring runs) and their steps: official flavour only."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base

_OPTIONAL = {"info": {"optional": True}}


class Workflow(Base):
    __tablename__ = "Workflow"
    __table_args__ = _OPTIONAL

    workflowId: Mapped[int] = mapped_column(primary_key=True)
    workflowTitle: Mapped[str | None]
    workflowType: Mapped[str | None]
    comments: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str | None]
    recordTimeStamp: Mapped[datetime | None]


class WorkflowStep(Base):
    __tablename__ = "WorkflowStep"
    __table_args__ = _OPTIONAL

    workflowStepId: Mapped[int] = mapped_column(primary_key=True)
    workflowId: Mapped[int] = mapped_column(ForeignKey("Workflow.workflowId"))
    workflowStepType: Mapped[str | None]
    status: Mapped[str | None]
    folderPath: Mapped[str | None] = mapped_column(String(1024))
    imageResultFilePath: Mapped[str | None] = mapped_column(String(1024))
    htmlResultFilePath: Mapped[str | None] = mapped_column(String(1024))
    resultFilePath: Mapped[str | None] = mapped_column(String(1024))
    comments: Mapped[str | None] = mapped_column(String(2048))
    recordTimeStamp: Mapped[datetime | None]
