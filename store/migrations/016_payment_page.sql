-- The booking page's payment hook per organisation: its own payment page, instead of (or before)
-- the deployment's GATEWAY_PAYMENT_PAGE_URL. NULL: the deployment's, if any.
ALTER TABLE organisations ADD COLUMN payment_page_url text;
