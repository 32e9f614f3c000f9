-- One database per Tessera service; tessera_gateway is created by POSTGRES_DB.
CREATE DATABASE tessera_invoicing OWNER tessera;
CREATE DATABASE tessera_payments OWNER tessera;
CREATE DATABASE tessera_receipts OWNER tessera;
