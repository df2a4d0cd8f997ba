CREATE TABLE `memories` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`agent` text NOT NULL,
	`user_id` text,
	`session_id` text,
	`content` text NOT NULL,
	`metadata` text NOT NULL,
	`tags` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `memories_id_unique` ON `memories` (`id`);--> statement-breakpoint
CREATE INDEX `memories_agent_created` ON `memories` (`agent`,`created_at`);--> statement-breakpoint
CREATE INDEX `memories_agent_user_created` ON `memories` (`agent`,`user_id`,`created_at`);