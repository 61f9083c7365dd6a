-- The revision of the imported data (issue 16, item 11): every import transaction adds one, so
-- that what is computed from the imported files (the assiette, the home page's figures) can be
-- cached in each application instance under the revision it was computed from.
CREATE TABLE data_revision (
    scope    TEXT PRIMARY KEY CHECK (scope <> ''),
    revision INTEGER NOT NULL CHECK (revision >= 0)
) STRICT;
