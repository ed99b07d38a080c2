"""Changes made outside hubkeeper: Docker Hub's audit log read on a schedule, hubkeeper's own changes
told apart by matching its executed requests, everything else posted to the audit channel."""
