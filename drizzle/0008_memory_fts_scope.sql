-- The full-text index gains the `scope` column (memories.scope: agent and user as words), so a search narrows
-- to an agent and user inside FTS5 (`... AND scope : "a<hex>0"`) and counts and ranks without joining every
-- match to the memories table. Rebuilt from the memories; the triggers now carry the scope too.
DROP TRIGGER IF EXISTS `memories_fts_insert`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `memories_fts_delete`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `memories_fts_update`;
--> statement-breakpoint
DROP TABLE IF EXISTS `memories_fts`;
--> statement-breakpoint
CREATE VIRTUAL TABLE `memories_fts` USING fts5(
	`content`,
	`tags`,
	`scope`,
	content = 'memories',
	content_rowid = 'seq',
	tokenize = 'porter unicode61 remove_diacritics 2'
);
--> statement-breakpoint
INSERT INTO `memories_fts` (`memories_fts`) VALUES ('rebuild');
--> statement-breakpoint
CREATE TRIGGER `memories_fts_insert` AFTER INSERT ON `memories` BEGIN
	INSERT INTO `memories_fts` (rowid, `content`, `tags`, `scope`) VALUES (new.`seq`, new.`content`, new.`tags`, new.`scope`);
END;
--> statement-breakpoint
CREATE TRIGGER `memories_fts_delete` AFTER DELETE ON `memories` BEGIN
	INSERT INTO `memories_fts` (`memories_fts`, rowid, `content`, `tags`, `scope`) VALUES ('delete', old.`seq`, old.`content`, old.`tags`, old.`scope`);
END;
--> statement-breakpoint
CREATE TRIGGER `memories_fts_update` AFTER UPDATE ON `memories` BEGIN
	INSERT INTO `memories_fts` (`memories_fts`, rowid, `content`, `tags`, `scope`) VALUES ('delete', old.`seq`, old.`content`, old.`tags`, old.`scope`);
	INSERT INTO `memories_fts` (rowid, `content`, `tags`, `scope`) VALUES (new.`seq`, new.`content`, new.`tags`, new.`scope`);
END;
