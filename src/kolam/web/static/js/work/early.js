// What the workspace asks the server first, started by the router before the workspace's code has arrived.

import { startEarly } from "../api.js";

export const BATCH_SIZE = 20;

/**
 * The project, and on a fresh profile (nobody remembered as signed in, so no batch kept here) the batch:
 * the tasks held plus new ones (next?resume=true), exactly the calls the workspace makes next.
 */
export function workspaceRequests([projectId]) {
  startEarly("GET", `projects/${projectId}`);
  if (!localStorage.getItem("kolam.me")) startEarly("POST", `projects/${projectId}/next?count=${BATCH_SIZE}&resume=true`);
}
