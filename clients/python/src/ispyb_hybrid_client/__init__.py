"""The pipelines' client of ispyb-hybrid (httpx + pydantic): post results, stream metrics in bulk, read a unified
data collection.

    from ispyb_hybrid_client import IspybClient
    with IspybClient("http://localhost:8000", token) as ispyb:
        result = ispyb.post_result({"kind": "mx.autoproc", "program": {"name": "xia2"}, "dataCollectionIds": [1]})
        report = ispyb.send_metrics({"kind": "mx.image", "dataCollectionId": 1, "values": {"imageNumber": i}}
                                    for i in range(1, 3601))
        collection = ispyb.datacollection(1)
"""

from ispyb_hybrid_client.client import IspybClient, IspybError
from ispyb_hybrid_client.models import (
    Attachment,
    Author,
    BulkRejection,
    BulkReport,
    MetricIn,
    Program,
    Result,
    ResultCreate,
    ResultPatch,
    Status,
    Sweep,
)

__all__ = [
    "Attachment",
    "Author",
    "BulkRejection",
    "BulkReport",
    "IspybClient",
    "IspybError",
    "MetricIn",
    "Program",
    "Result",
    "ResultCreate",
    "ResultPatch",
    "Status",
    "Sweep",
]
