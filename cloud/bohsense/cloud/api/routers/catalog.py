"""The catalog: how devices map to lanes and assets (``GET /catalog/mapping``)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from .._deps import CoreDep
from .fleet import Device

router = APIRouter(prefix="/catalog", tags=["catalog"])


class UnmatchedDevice(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    gateway: str
    device: str
    kind: str
    asset_id: str | None
    site: str | None
    sku: str | None
    location: str | None
    candidates: list[str]


class Mapping(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    unmatched: list[UnmatchedDevice]
    unmapped: list[Device]


@router.get("/mapping", response_model=Mapping)
def mapping(core: CoreDep, gateway: str | None = None) -> Mapping:
    """Catalog lanes and sensors no gateway has reported (``unmatched``: a misspelt name stays
    here, with the unmapped devices of the same lane number as ``candidates``) and reporting
    devices no catalog entry maps (``unmapped``). Lanes are named ``<device id>.lane-<n>``."""
    return Mapping.model_validate(core.catalog_mapping(gateway=gateway))
