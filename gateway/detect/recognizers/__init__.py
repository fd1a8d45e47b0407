"""Chinese personal-information recognizers for presidio, one entity per module."""

from gateway.detect.recognizers.address import AddressRecognizer
from gateway.detect.recognizers.bank_card import BankCardRecognizer
from gateway.detect.recognizers.base import LANGUAGE, ChineseRecognizer
from gateway.detect.recognizers.email import EmailRecognizer
from gateway.detect.recognizers.hk_macau_permit import HkMacauPermitRecognizer
from gateway.detect.recognizers.id_card import IdCardRecognizer
from gateway.detect.recognizers.ip_address import IpAddressRecognizer
from gateway.detect.recognizers.landline import LandlineRecognizer
from gateway.detect.recognizers.license_plate import LicensePlateRecognizer
from gateway.detect.recognizers.mobile import MobileRecognizer
from gateway.detect.recognizers.passport import PassportRecognizer
from gateway.detect.recognizers.person_name import PersonNameRecognizer
from gateway.detect.recognizers.taiwan_permit import TaiwanPermitRecognizer
from gateway.detect.recognizers.uscc import UsccRecognizer

# In order of precedence when two findings cover the same text with the same score.
ALL: tuple[type[ChineseRecognizer], ...] = (
    IdCardRecognizer, UsccRecognizer, BankCardRecognizer, MobileRecognizer,
    LandlineRecognizer, EmailRecognizer, PassportRecognizer, HkMacauPermitRecognizer,
    TaiwanPermitRecognizer, LicensePlateRecognizer, IpAddressRecognizer,
    AddressRecognizer, PersonNameRecognizer,
)

__all__ = ["ALL", "LANGUAGE", "ChineseRecognizer"]
