-- The data policy a stored conversation was cleared under: the policies
-- applied and the classes its requests declared (JSON arrays of names,
-- '' for none; never values). A request continuing it is evaluated under
-- them too, so that a conversation kept on self-hosted providers is not
-- continued on a proprietary one.
ALTER TABLE responses ADD COLUMN policies TEXT NOT NULL DEFAULT '';
ALTER TABLE responses ADD COLUMN declared TEXT NOT NULL DEFAULT '';
