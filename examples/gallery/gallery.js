// The gallery lists the images, newest first. Each <img> offers its thumbnails (and the original)
// in srcset with their widths, and sizes says how wide it is drawn, so the browser fetches the
// smallest file that is sharp enough for this screen. New uploads, from this page or anywhere
// else, arrive through the Server-Sent Events stream /events.
const gallery = document.getElementById('gallery');
const status = document.getElementById('status');
const progress = document.getElementById('progress');
const drawnWidth = '(max-width: 600px) 100vw, (max-width: 1200px) 50vw, 33vw';

// The delete tokens of the images uploaded from this browser: only those get a Delete button.
const tokens = JSON.parse(localStorage.getItem('asgilook-delete-tokens') || '{}');
const saveTokens = () => localStorage.setItem('asgilook-delete-tokens', JSON.stringify(tokens));
let uploadKey = localStorage.getItem('asgilook-upload-key');
const keyForm = document.getElementById('key-form');
let keyEntered = null;
keyForm.addEventListener('submit', event => {
  event.preventDefault();
  uploadKey = document.getElementById('upload-key').value;
  localStorage.setItem('asgilook-upload-key', uploadKey);
  keyForm.hidden = true;
  keyEntered?.();
});
const problemOf = request => { try { return JSON.parse(request.responseText).detail; } catch { return request.statusText; } };
const sleep = seconds => new Promise(resolve => setTimeout(resolve, seconds * 1000));

function show(image, newest) {
  const shown = document.getElementById('image-' + image.id);
  if (shown) {
    // /events may have shown it before its upload's answer brought the token.
    if (tokens[image.id] && !shown.querySelector('button')) shown.querySelector('figcaption').append(deleteButton(image));
    return;
  }
  const [width, height] = image.size;
  const candidates = image.thumbnails.map(uri => `${uri} ${parseInt(uri.split('/').pop(), 10)}w`);
  candidates.push(`${image.image} ${width}w`);

  const img = document.createElement('img');
  img.srcset = candidates.join(', ');
  img.sizes = drawnWidth;
  img.src = image.thumbnails.length ? image.thumbnails[image.thumbnails.length - 1] : image.image;
  img.width = width;
  img.height = height;
  img.alt = `Image ${image.id}`;

  const link = document.createElement('a');
  link.href = image.image;
  link.append(img);
  const caption = document.createElement('figcaption');
  const about = document.createElement('span');
  about.textContent = `${width}×${height} · ${image.modified}`;
  caption.append(about);
  if (tokens[image.id]) caption.append(deleteButton(image));
  const figure = document.createElement('figure');
  figure.id = 'image-' + image.id;
  figure.append(link, caption);
  if (newest) gallery.prepend(figure); else gallery.append(figure);
}

function deleteButton(image) {
  const button = document.createElement('button');
  button.textContent = 'Delete';
  button.setAttribute('aria-label', `Delete the ${image.size[0]}×${image.size[1]} image uploaded ${image.modified}`);
  button.addEventListener('click', async () => {
    const response = await fetch(image.image, { method: 'DELETE', headers: { Authorization: `Bearer ${tokens[image.id]}` } });
    if (response.status === 204 || response.status === 404) {
      delete tokens[image.id];
      saveTokens();
      document.getElementById('image-' + image.id)?.remove();
      status.textContent = 'Deleted.';
    } else {
      let reason = response.statusText;
      try { reason = (await response.json()).detail || reason; } catch { }
      status.textContent = `Could not delete: ${reason}`;
    }
  });
  return button;
}

// One attempt; on a 429 the caller waits the Retry-After it names and tries again.
function send(file) {
  return new Promise(resolve => {
    const request = new XMLHttpRequest();
    request.open('POST', '/images');
    if (uploadKey) request.setRequestHeader('Authorization', `Bearer ${uploadKey}`);
    request.upload.onprogress = event => {
      if (event.lengthComputable) { progress.hidden = false; progress.value = event.loaded / event.total; }
    };
    request.onload = () => { progress.hidden = true; resolve(request); };
    request.onerror = () => { progress.hidden = true; resolve(null); };
    request.send(file);
  });
}

async function upload(file, position, count) {
  while (true) {
    const request = await send(file);
    if (request === null) { status.textContent = `${file.name} could not be sent.`; return; }
    if (request.status === 201) {
      const image = JSON.parse(request.responseText);
      tokens[image.id] = image.delete_token;
      saveTokens();
      show(image, true); // /events brings it too; show() adds each image once
      status.textContent = `Uploaded ${file.name} (${position} of ${count}).`;
      return;
    }
    if (request.status === 429) {
      const wait = parseInt(request.getResponseHeader('Retry-After'), 10) || 1;
      status.textContent = `Waiting ${wait} s before ${file.name} (${position} of ${count}): this service takes only so many uploads a minute.`;
      await sleep(wait);
      continue;
    }
    if (request.status === 401) {
      status.textContent = problemOf(request);
      keyForm.hidden = false;
      document.getElementById('upload-key').focus();
      await new Promise(resolve => keyEntered = resolve);
      continue;
    }
    status.textContent = `${file.name} was refused: ${problemOf(request)}`;
    return;
  }
}

// Uploads one after the other, so a drop of 200 photos arrives whole, rate limit or not.
let queue = Promise.resolve();
function uploadAll(files) {
  files.forEach((file, index) => { queue = queue.then(() => upload(file, index + 1, files.length)); });
}

const events = new EventSource('/events');
events.addEventListener('image', event => show(JSON.parse(event.data), true));
events.addEventListener('deleted', event => {
  const id = JSON.parse(event.data).id;
  document.getElementById('image-' + id)?.remove();
  if (tokens[id]) { delete tokens[id]; saveTokens(); }
});
events.addEventListener('open', () => document.body.dataset.live = 'true');

fetch('/images')
  .then(response => response.json())
  .then(images => images.reverse().forEach(image => show(image, false)));

document.getElementById('files').addEventListener('change', event => uploadAll([...event.target.files]));
document.addEventListener('dragover', event => { event.preventDefault(); document.body.classList.add('dragging'); });
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
document.addEventListener('drop', event => {
  event.preventDefault();
  document.body.classList.remove('dragging');
  uploadAll([...event.dataTransfer.files]);
});
