"""Typed SQLAlchemy models of the ISPyB tables, with their real table and column names.

Each model maps the columns that both schema flavours share; flavour-specific columns are reached through
``relational.flavour`` and degrade to null where a database lacks them.
"""

from relational.models.acquisition import (
    BeamLineSetup,
    BFFault,
    BLSampleHasEnergyScan,
    Detector,
    EnergyScan,
    Image,
    XFEFluorescenceSpectrum,
)
from relational.models.base import Base
from relational.models.collections import DataCollection, DataCollectionGroup, RobotAction
from relational.models.people import (
    LabContact,
    Laboratory,
    Permission,
    Person,
    UserGroup,
    UserGroupHasPermission,
    UserGroupHasPerson,
)
from relational.models.processing import (
    AutoProc,
    AutoProcIntegration,
    AutoProcProgram,
    AutoProcProgramAttachment,
    AutoProcProgramMessage,
    AutoProcScaling,
    AutoProcScalingHasInt,
    AutoProcScalingStatistics,
)
from relational.models.proposals import BLSession, Proposal, ProposalHasPerson, SessionHasPerson, SessionType
from relational.models.samples import BLSample, Crystal, DiffractionPlan, Protein
from relational.models.shipping import (
    Container,
    Dewar,
    DewarRegistry,
    DewarRegistryHasProposal,
    DewarTransportHistory,
    Shipping,
    ShippingHasSession,
)

__all__ = [
    "AutoProc",
    "AutoProcIntegration",
    "AutoProcProgram",
    "AutoProcProgramAttachment",
    "AutoProcProgramMessage",
    "AutoProcScaling",
    "AutoProcScalingHasInt",
    "AutoProcScalingStatistics",
    "BFFault",
    "BLSample",
    "BLSampleHasEnergyScan",
    "BLSession",
    "Base",
    "BeamLineSetup",
    "Container",
    "Crystal",
    "DataCollection",
    "DataCollectionGroup",
    "Detector",
    "Dewar",
    "DewarRegistry",
    "DewarRegistryHasProposal",
    "DewarTransportHistory",
    "DiffractionPlan",
    "EnergyScan",
    "Image",
    "LabContact",
    "Laboratory",
    "Permission",
    "Person",
    "Proposal",
    "ProposalHasPerson",
    "Protein",
    "RobotAction",
    "SessionHasPerson",
    "SessionType",
    "Shipping",
    "ShippingHasSession",
    "UserGroup",
    "UserGroupHasPermission",
    "UserGroupHasPerson",
    "XFEFluorescenceSpectrum",
]
