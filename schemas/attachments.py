"""Files attached to a data collection or to a processing program, as py-ispyb lists them (the file itself is
served at ``_metadata.url``)."""

from datetime import datetime

from pydantic import Field

from schemas.common import ApiModel


class DataCollectionFileAttachmentMetaData(ApiModel):
    url: str = Field(description="Path of the file's download route")
    fileName: str = Field(description="File name")


class DataCollectionFileAttachment(ApiModel):
    dataCollectionFileAttachmentId: int
    dataCollectionId: int
    fileType: str | None = Field(description="`snapshot`, `log`, `xy`, `recip` (Diamond also `pia`, `warning`…)")
    metadata: DataCollectionFileAttachmentMetaData = Field(alias="_metadata")


class AutoProcProgramAttachmentMetaData(ApiModel):
    url: str = Field(description="Path of the file's download route")


class AutoProcProgramAttachment(ApiModel):
    autoProcProgramAttachmentId: int
    autoProcProgramId: int
    fileName: str | None
    filePath: str | None
    fileType: str | None = Field(description="`Log`, `Result`, `Graph` (Diamond also `Debug`, `Input`)")
    importanceRank: int | None = Field(description="null where the database has no such column")
    recordTimeStamp: datetime | None
    metadata: AutoProcProgramAttachmentMetaData = Field(alias="_metadata")
