// IndexedDB, promised: the annotator's leased tasks, the outbox of answers, and small facts (project JSON),
// kept on the laptop so a reload (even offline) resumes where the annotator was.

const NAME = "kolam-work";
const VERSION = 1;
let opening = null;

function open() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      // tasks: {task_id, project_id, user_id, seq, task}; outbox: {client_id, project_id, user_id, type, ...}
      db.createObjectStore("tasks", { keyPath: "task_id" });
      db.createObjectStore("outbox", { keyPath: "client_id" });
      db.createObjectStore("meta");
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      opening = null;
      reject(req.error);
    };
  });
  return opening;
}

function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function store(name, mode) {
  const db = await open();
  return db.transaction(name, mode).objectStore(name);
}

export async function getAll(name) {
  return done((await store(name, "readonly")).getAll());
}

export async function get(name, key) {
  return done((await store(name, "readonly")).get(key));
}

/** Put a record (stores with a keyPath) or a value under `key` (the "meta" store). */
export async function put(name, value, key = undefined) {
  const s = await store(name, "readwrite");
  return done(key === undefined ? s.put(value) : s.put(value, key));
}

export async function remove(name, key) {
  return done((await store(name, "readwrite")).delete(key));
}

/** Replace several records in one transaction: what a reload-and-merge needs to stay consistent. */
export async function replace(name, removeKeys, values) {
  const db = await open();
  const tx = db.transaction(name, "readwrite");
  const s = tx.objectStore(name);
  for (const key of removeKeys) s.delete(key);
  for (const value of values) s.put(value);
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}
