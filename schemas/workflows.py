"""Workflow steps, as py-ispyb lists them (a step's files are served by ``attachmentType``)."""

from enum import StrEnum

from pydantic import Field

from schemas.common import ApiModel


class WorkflowStepAttachment(StrEnum):
    """The step columns whose file ``GET /datacollections/workflows/steps/{id}`` serves."""

    imageResultFilePath = "imageResultFilePath"
    resultFilePath = "resultFilePath"
    htmlResultFilePath = "htmlResultFilePath"


class WorkflowStepMetaData(ApiModel):
    attachments: dict[str, bool] = Field(description="Per file column, whether the step names a file there")


class WorkflowStep(ApiModel):
    workflowId: int
    workflowStepId: int
    workflowStepType: str | None
    status: str | None
    comments: str | None
    metadata: WorkflowStepMetaData = Field(alias="_metadata")
