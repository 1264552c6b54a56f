"""What the bench's Oscar charges at checkout: a flat-rate shipping method and tax.

Oscar loads its shipping repository and its strategy selector through its dynamic class
loader (oscar.core.loading.get_class); bench/oscar_site/classes.py hands it these two
classes instead of Oscar's for `shipping.repository.Repository` and
`partner.strategy.Selector` (settings.OSCAR_DYNAMIC_CLASS_LOADER), so no Oscar app is forked.

- Shipping: Oscar's own default repository offers only "free-shipping". This one offers
  `bench-standard`, Oscar's FixedPrice method at 4.99 (5.35 with 7.25 % tax), the method the
  bench's checkout asks for (shipping_method_code), like Storefront's `bench-standard`.
- Tax: Oscar's default strategy charges none (NoTax). This one is Oscar's
  FixedRateTax at 7.25 % (Storefront's bench rate for the US), rounded to the cent per unit.
  Oscar's sample US strategy (DeferredTax) leaves tax to be computed in the checkout views,
  which django-oscar-api's checkout does not do, so it cannot check out.

The voucher is data: bench/oscar_setup.py creates it.
"""

from decimal import Decimal

from oscar.apps.partner import strategy
from oscar.apps.shipping import methods
from oscar.apps.shipping.repository import Repository as OscarRepository

TAX_RATE = Decimal("0.0725")
SHIPPING_CODE = "bench-standard"
SHIPPING_PRICE = Decimal("4.99")


class BenchShipping(methods.FixedPrice):
    code = SHIPPING_CODE
    name = "Bench standard"
    charge_excl_tax = SHIPPING_PRICE
    charge_incl_tax = (SHIPPING_PRICE * (1 + TAX_RATE)).quantize(Decimal("0.01"))


class Repository(OscarRepository):
    methods = (BenchShipping(),)


class BenchStrategy(
    strategy.UseFirstStockRecord, strategy.StockRequired, strategy.FixedRateTax, strategy.Structured
):
    rate = TAX_RATE
    exponent = Decimal("0.01")


class Selector:
    def strategy(self, request=None, user=None, **kwargs):
        return BenchStrategy(request)
