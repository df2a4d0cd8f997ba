CREATE TABLE `approvals` (
	`run_id` text NOT NULL,
	`call_id` text NOT NULL,
	`agent` text NOT NULL,
	`session_id` text NOT NULL,
	`tool` text NOT NULL,
	`arguments` text,
	`status` text NOT NULL,
	`reason` text,
	`for_session` integer DEFAULT false NOT NULL,
	`decided_by` text,
	`checkpoint` text,
	`waiter` text,
	`resumed_at` integer,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`decided_at` integer,
	PRIMARY KEY(`run_id`, `call_id`)
);
--> statement-breakpoint
CREATE INDEX `approvals_status_expires` ON `approvals` (`status`,`expires_at`);--> statement-breakpoint
CREATE INDEX `approvals_session_tool` ON `approvals` (`session_id`,`tool`);--> statement-breakpoint
ALTER TABLE `agents` ADD `tool_policy` text DEFAULT '{}' NOT NULL;