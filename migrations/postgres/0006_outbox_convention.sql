-- Which convention's change wrote each e-mail (issue 16 item 4): the demo's « Courriels
-- envoyés » page shows the secretariat the mails of the conventions it runs. Empty for an
-- account's own mail (password reset) and for the mails written before this migration.
-- No foreign key: the outbox is operational, not a record of the convention.
ALTER TABLE outbox ADD COLUMN convention_id BIGINT;
CREATE INDEX outbox_by_convention ON outbox (convention_id);
