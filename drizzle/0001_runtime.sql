CREATE TABLE `events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text NOT NULL,
	`timestamp` integer NOT NULL,
	`agent_id` text,
	`run_id` text,
	`sequence` integer NOT NULL,
	`event_type` text NOT NULL,
	`payload` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_event_id_unique` ON `events` (`event_id`);--> statement-breakpoint
CREATE INDEX `events_agent_seq` ON `events` (`agent_id`,`seq`);--> statement-breakpoint
CREATE INDEX `events_run_seq` ON `events` (`run_id`,`seq`);--> statement-breakpoint
CREATE INDEX `events_type_seq` ON `events` (`event_type`,`seq`);--> statement-breakpoint
CREATE INDEX `events_timestamp` ON `events` (`timestamp`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`agent` text NOT NULL,
	`run_id` text,
	`user_id` text,
	`role` text NOT NULL,
	`content` text NOT NULL,
	`tool_calls` text,
	`tool_call_id` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `messages_session_created` ON `messages` (`session_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_agent_user` ON `messages` (`agent`,`user_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`agent` text NOT NULL,
	`session_id` text NOT NULL,
	`user_id` text,
	`status` text NOT NULL,
	`input` text NOT NULL,
	`output` text,
	`error` text,
	`steps` text NOT NULL,
	`usage` text NOT NULL,
	`source` text DEFAULT 'api' NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`completed_at` integer
);
--> statement-breakpoint
CREATE INDEX `runs_agent_created` ON `runs` (`agent`,`created_at`);--> statement-breakpoint
CREATE INDEX `runs_session_created` ON `runs` (`session_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`agent` text NOT NULL,
	`user_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sessions_agent_updated` ON `sessions` (`agent`,`updated_at`);