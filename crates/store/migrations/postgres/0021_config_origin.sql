-- Where each configuration object was last written from: `file` (`shoprelay apply`) or `console` (the
-- console or the REST API), so that `apply` can say which edits made there it would overwrite or remove.
ALTER TABLE config_objects ADD COLUMN origin TEXT NOT NULL DEFAULT 'file';
