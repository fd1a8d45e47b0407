"""DDL of the sample customer database: public.customers and public.orders."""

from __future__ import annotations

CUSTOMER_COLUMNS: tuple[str, ...] = (
    "id", "name", "phone", "id_no", "email", "address", "birthday", "notes",
    "marketing_opt_in", "created_at",
)
ORDER_COLUMNS: tuple[str, ...] = ("id", "customer_id", "card_no", "amount", "created_at", "status")

DROP = "DROP TABLE IF EXISTS public.orders, public.customers CASCADE"

CREATE: tuple[str, ...] = (
    """
    CREATE TABLE public.customers (
        id               bigint PRIMARY KEY,
        name             text NOT NULL,
        phone            text,
        id_no            text,
        email            text,
        address          text,
        birthday         date,
        notes            text,
        marketing_opt_in boolean NOT NULL DEFAULT false,
        created_at       timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE public.orders (
        id          bigint PRIMARY KEY,
        customer_id bigint NOT NULL REFERENCES public.customers (id),
        card_no     text,
        amount      numeric(12, 2) NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        status      text NOT NULL
    )
    """,
    "COMMENT ON TABLE public.customers IS '客户信息（示例数据，非真实个人信息）'",
    "COMMENT ON TABLE public.orders IS '订单（示例数据）'",
    "COMMENT ON COLUMN public.customers.notes IS '客服备注，可能夹带个人信息'",
)

# Created after COPY: building indexes once over loaded rows is faster than row by row.
INDEXES: tuple[str, ...] = (
    "CREATE INDEX customers_phone_idx ON public.customers (phone)",
    "CREATE INDEX customers_created_at_idx ON public.customers (created_at)",
    "CREATE INDEX orders_customer_id_idx ON public.orders (customer_id)",
)
