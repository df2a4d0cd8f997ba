-- Full-text index over memories (FTS5, ranked by bm25). External content: the text lives once, in `memories`;
-- the triggers below keep the index in step. porter stems English words ("running" finds "run"),
-- unicode61 with remove_diacritics 2 folds case and accents in every script ("cafe" finds "café").
CREATE VIRTUAL TABLE `memories_fts` USING fts5(
	`content`,
	`tags`,
	content = 'memories',
	content_rowid = 'seq',
	tokenize = 'porter unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE TRIGGER `memories_fts_insert` AFTER INSERT ON `memories` BEGIN
	INSERT INTO `memories_fts` (rowid, `content`, `tags`) VALUES (new.`seq`, new.`content`, new.`tags`);
END;
--> statement-breakpoint
CREATE TRIGGER `memories_fts_delete` AFTER DELETE ON `memories` BEGIN
	INSERT INTO `memories_fts` (`memories_fts`, rowid, `content`, `tags`) VALUES ('delete', old.`seq`, old.`content`, old.`tags`);
END;
--> statement-breakpoint
CREATE TRIGGER `memories_fts_update` AFTER UPDATE ON `memories` BEGIN
	INSERT INTO `memories_fts` (`memories_fts`, rowid, `content`, `tags`) VALUES ('delete', old.`seq`, old.`content`, old.`tags`);
	INSERT INTO `memories_fts` (rowid, `content`, `tags`) VALUES (new.`seq`, new.`content`, new.`tags`);
END;
--> statement-breakpoint
-- Memories belong to their agent: deleting the agent forgets them, so a new agent of the same name starts empty.
-- A trigger rather than a foreign key because PRAGMA foreign_keys is per connection and the client pools connections.
CREATE TRIGGER `memories_agent_delete` AFTER DELETE ON `agents` BEGIN
	DELETE FROM `memories` WHERE `agent` = old.`name`;
END;
