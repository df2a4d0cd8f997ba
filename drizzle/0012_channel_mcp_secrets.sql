ALTER TABLE `channels` ADD `secret_ciphertext` text;--> statement-breakpoint
ALTER TABLE `channels` ADD `secret_key_id` text;--> statement-breakpoint
ALTER TABLE `mcp_servers` ADD `secrets_key_id` text;