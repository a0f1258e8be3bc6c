-- The source table of the example, in the database $SLUICE_EXAMPLE_POSTGRES names.
CREATE TABLE IF NOT EXISTS accounts (
  id integer PRIMARY KEY,
  owner text NOT NULL,
  balance numeric(12, 2) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
