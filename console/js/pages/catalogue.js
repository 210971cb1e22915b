// Catalogue (admin): the bookable services, the VMs with their live state, and the hour packs.
// Rows are edited in place (only the fields changed are sent); a VM's change lists the bookings
// still to run on it.
import { get, send } from "../api.js";
import { badge, busy, field, fill, form, h, notice, pageHeader, say, section, select, table, when } from "../ui.js";
import { addForm, checkbox, input, saveButton } from "../editing.js";

const encode = encodeURIComponent;
const VM_STATUSES = [["online", "Online"], ["offline", "Offline"], ["maintenance", "Maintenance"]];
const STATUS_KIND = { online: "ok", offline: "", maintenance: "warn" };

export async function render(main, ctx) {
  fill(main, pageHeader("Catalogue"));
  if (!ctx.can("booking:admin")) return void main.append(h("p", { class: "notice error", role: "alert" }, "The catalogue is for admins."));
  const parts = [servicesPart(), vmsPart(), packsPart()];
  main.append(...parts.map((part) => part.element));
  await Promise.all(parts.map((part) => part.load()));
}

/** A list read from `path`, kept in memory and drawn as a table; `add` posts a new item to it. */
function listPart(path, title, caption, headers, cellsOf, empty, ...extras) {
  // `path`, or `{read, write}` when the list is read elsewhere than it is added to.
  const { read, write } = typeof path === "string" ? { read: path, write: path } : path;
  const state = { items: [] };
  const status = notice();
  const holder = h("div");
  const draw = () => fill(holder, table(caption, headers, state.items.map(cellsOf), empty));
  holder.className = "nowrap";
  const element = section(title, status, holder, ...extras);
  const load = async () => {
    try {
      state.items = await get(read);
      draw();
      return true;
    } catch (error) {
      say(status, error);
      return false;
    }
  };
  const add = async (body, formElement, formStatus) => {
    state.items.push(await send("POST", write, body));
    draw();
    formElement.reset();
    say(formStatus, `Added ${body.name}.`);
  };
  return { state, status, element, load, add };
}

function idField() {
  return field("Id", h("input", { name: "id", required: true, pattern: "[a-z0-9][a-z0-9_\\-]{0,31}", maxlength: "32", autocomplete: "off" }));
}

function money2(value) {
  return Math.round(Number(value) * 100) / 100;
}

// ---- services ------------------------------------------------------------------------------

function servicesPart() {
  const cells = (service) => {
    const label = service.name;
    const controls = {
      name: input(service.name, `Name of ${label}`, { maxlength: "64" }),
      price_per_hour: input(service.price_per_hour, `Price per hour of ${label}`, { type: "number", min: "0", max: "100000", step: "0.01" }),
      available: checkbox(service.available, `${label} takes bookings`),
    };
    const save = saveButton(service, label, controls, (body) => send("PATCH", `/api/booking/services/${encode(service.id)}`, body));
    return [service.id, service.type, controls.name, controls.price_per_hour, controls.available, h("div", {}, save.button, save.status)];
  };
  const add = addForm(
    "Add a service",
    [
      idField(),
      field("Type (short label)", h("input", { name: "type", required: true, maxlength: "16" })),
      field("Name", h("input", { name: "name", required: true, maxlength: "64" })),
      field("Price per hour", h("input", { name: "price_per_hour", type: "number", required: true, min: "0", max: "100000", step: "0.01" })),
      h("div", { class: "check" }, h("input", { type: "checkbox", name: "available", id: "new-service-available", checked: true }), h("label", { for: "new-service-available" }, "Takes bookings")),
    ],
    async (values, element, status) => {
      const body = { id: values.id.trim(), type: values.type.trim(), name: values.name.trim(), price_per_hour: money2(values.price_per_hour), available: values.available === "on" };
      return part.add(body, element, status);
    },
  );
  const headers = ["Id", "Type", "Name", "Price per hour", "Available", "Save"];
  const part = listPart("/api/booking/services", "Services", "!Services", headers, cells, "No services yet.", add);
  return part;
}

// ---- VMs -------------------------------------------------------------------------------------

function liveState(vm) {
  const booking = vm.current_booking;
  if (booking) return h("span", {}, `Booked (${booking.service}) until ${when(booking.end_time)}`);
  if (vm.status === "online" && vm.uptime > 0) return h("span", { class: "muted" }, `Free, up ${Math.floor(vm.uptime / 3600)} h`);
  return h("span", { class: "muted" }, "Free");
}

function affectedTable(vm, bookings) {
  const rows = bookings.map((booking) => [booking.id.slice(0, 8), booking.service, booking.game_name, booking.realm, when(booking.start_time), when(booking.end_time), booking.status]);
  const caption = `Bookings still to run on ${vm.name}`;
  const headers = ["Booking", "Service", "Game", "Realm", "Starts", "Ends", "Status"];
  return h("div", { class: "nowrap" }, table(caption, headers, rows, `No booking is still to run on ${vm.name}.`));
}

function vmsPart() {
  const affected = h("div", { "aria-live": "polite" });
  const cells = (vm) => {
    const label = vm.name;
    const shown = badge(vm.status, STATUS_KIND[vm.status]);
    const controls = { status: select("status", VM_STATUSES, vm.status, { "aria-label": `Status of ${label}` }) };
    let stillToRun = 0;
    const save = saveButton(vm, label, controls, async (body) => {
      const result = await send("PATCH", `/api/booking/vms/${encode(vm.id)}`, body);
      fill(shown, result.vm.status);
      shown.className = `badge ${STATUS_KIND[result.vm.status]}`;
      fill(affected, affectedTable(result.vm, result.affected_bookings));
      stillToRun = result.affected_bookings.length;
      return result.vm;
    }, (changed) => `${label} is ${changed.status}; ${stillToRun} booking${stillToRun === 1 ? "" : "s"} still to run on it (listed below).`);
    save.button.textContent = "Change status";
    save.button.setAttribute("aria-label", `Change status of ${label}`);
    const specs = `${vm.cpu} vCPU, ${vm.memory} GiB`;
    return [vm.id, vm.name, shown, liveState(vm), vm.region, specs, h("div", {}, h("div", { class: "actions" }, controls.status, save.button), save.status)];
  };
  const refresh = h("button", { type: "button" }, "Refresh");
  const add = addForm(
    "Add a VM",
    [
      idField(),
      field("Name", h("input", { name: "name", required: true, maxlength: "64" })),
      field("Region", h("input", { name: "region", required: true, maxlength: "32" })),
      field("vCPUs", h("input", { name: "cpu", type: "number", required: true, min: "1", max: "1024", step: "1" })),
      field("Memory (GiB)", h("input", { name: "memory", type: "number", required: true, min: "1", max: "65536", step: "1" })),
      field("Status", select("status", VM_STATUSES, "online")),
    ],
    async (values, element, status) => {
      const body = { id: values.id.trim(), name: values.name.trim(), region: values.region.trim(), cpu: Number(values.cpu), memory: Number(values.memory), status: values.status };
      return part.add(body, element, status);
    },
  );
  const headers = ["Id", "Name", "Status", "Now", "Region", "Size", "Change status"];
  const part = listPart("/api/booking/vms", "VMs", "!VMs", headers, cells, "No VMs yet.", h("h3", {}, "What the last change affects"), affected, add);
  const reload = async () => {
    if (await part.load()) say(part.status, `Live state as of ${when(new Date().toISOString())}.`);
  };
  refresh.addEventListener("click", () => busy(refresh, reload, part.status));
  part.element.querySelector("h2").after(refresh);
  fill(affected, h("p", { class: "muted" }, "Change a VM's status to see the bookings still to run on it."));
  return { ...part, load: reload };
}

// ---- packs -------------------------------------------------------------------------------------

function packsPart() {
  const cells = (pack) => {
    const label = pack.name;
    const controls = {
      name: input(pack.name, `Name of ${label}`, { maxlength: "64" }),
      hours: input(pack.hours, `Hours in ${label}`, { type: "number", min: "1", max: "10000", step: "1" }),
      price: input(pack.price, `Price of ${label}`, { type: "number", min: "0", max: "100000", step: "0.01" }),
      currency: input(pack.currency, `Currency of ${label}`, { maxlength: "3", pattern: "[A-Z]{3}", size: "3" }),
    };
    const save = saveButton(pack, label, controls, (body) => send("PATCH", `/api/booking/shop/packs/${encode(pack.id)}`, body));
    const onSale = h("span");
    const retire = h("button", { type: "button" });
    const show = () => {
      fill(onSale, pack.active ? badge("on sale", "ok") : badge("retired", "warn"));
      retire.textContent = pack.active ? "Retire" : "Put back on sale";
      retire.className = pack.active ? "danger" : "";
      retire.setAttribute("aria-label", `${pack.active ? "Retire" : "Put back on sale"} ${label}`);
    };
    retire.addEventListener("click", () =>
      busy(retire, async () => {
        Object.assign(pack, await send("PATCH", `/api/booking/shop/packs/${encode(pack.id)}`, { active: !pack.active }));
        show();
        say(save.status, pack.active ? `${label} is on sale again.` : `${label} is retired from the shop.`);
      }, save.status),
    );
    show();
    return [pack.id, controls.name, controls.hours, controls.price, controls.currency, onSale, h("div", {}, h("div", { class: "actions" }, save.button, retire), save.status)];
  };
  const add = addForm(
    "Add a pack",
    [
      idField(),
      field("Name", h("input", { name: "name", required: true, maxlength: "64" })),
      field("Hours", h("input", { name: "hours", type: "number", required: true, min: "1", max: "10000", step: "1" })),
      field("Price", h("input", { name: "price", type: "number", required: true, min: "0", max: "100000", step: "0.01" })),
      field("Currency", h("input", { name: "currency", required: true, value: "EUR", maxlength: "3", pattern: "[A-Z]{3}" })),
    ],
    async (values, element, status) => {
      const body = { id: values.id.trim(), name: values.name.trim(), hours: Number(values.hours), price: money2(values.price), currency: values.currency.trim() };
      return part.add(body, element, status);
    },
  );
  const note = h("p", { class: "muted" }, "The shop lists the packs on sale; retired ones are listed here only.");
  const headers = ["Id", "Name", "Hours", "Price", "Currency", "Shop", "Change"];
  const part = listPart({ read: "/api/booking/admin/packs", write: "/api/booking/shop/packs" }, "Packs", "!Hour packs", headers, cells, "No packs yet.", note, add);
  return part;
}
