// Chinese by default, English on request. The source strings are English;
// ZH holds their Chinese. tests/test_field_app.py checks that every t(text)
// in the app has a Chinese entry.
const ZH = {
  "Home": "首页", "Tasks": "任务", "Report": "上报", "Outbox": "待发送", "Map": "地图", "Civic grid": "网格通",
  "Skip to content": "跳到正文", "This app needs JavaScript.": "此应用需要启用 JavaScript。",
  "A new version is ready.": "有新版本可用。", "Update now": "立即更新",
  "Acknowledge by": "签收时限", "Fix by": "处置时限", "Actions": "操作", "After photo": "处置后照片", "Photo": "照片",
  "All sent": "全部已发送", "Already syncing…": "正在同步…", "Cancel": "取消",
  "Categories load the first time you are online.": "首次联网后加载问题类别。",
  "Choose a category.": "请选择问题类别。", "Choose what it is": "请选择问题类别",
  "Close the loop": "处置反馈", "Could not save: {message}": "保存失败：{message}",
  "Department": "责任单位", "Discard": "放弃", "Dispatcher's queue": "待指挥中心分派",
  "Discard this item for good? It has not reached the server.": "确定永久放弃这一条吗？它还没有送达服务器。",
  "Discard this report?": "放弃这条上报吗？", "Drag to where the problem is": "拖到问题所在位置",
  "Finding your location…": "正在定位…", "Fix": "修改", "Fix the report": "修改上报", "From gallery": "从相册选",
  "Hello, {name}": "{name}，您好", "Items waiting on this phone are sent after you log in.": "本机待发送的内容将在登录后发送。",
  "Keep my data safe on this phone": "在本机持久保存数据",
  "Location is off. Drag the pin to where it is.": "定位未开启。请拖动图钉到问题位置。",
  "Location: from the photo's GPS": "位置：取自照片 GPS", "Location: the address you typed": "位置：您填写的地址",
  "Location: the pin you placed": "位置：您放置的图钉", "Location: ±{m} m (phone)": "位置：±{m} 米（手机定位）",
  "New task: {name} · {ref}": "新任务：{name} · {ref}", "{n} new tasks": "{n} 条新任务", "Open": "查看",
  "Notifications are blocked in the browser; new tasks still show while the app is open.": "浏览器已禁止通知；应用打开时仍会提示新任务。",
  "Turn on task alerts: the phone rings when a task is assigned to you, even when the app is closed.": "开启任务提醒：有任务派给您时，即使应用未打开，手机也会提醒。",
  "Task alerts are on.": "任务提醒已开启。", "Turn on alerts": "开启提醒",
  "Task alerts could not be turned on; new tasks still show while the app is open.": "无法开启任务提醒；应用打开时仍会提示新任务。",
  "Saved.": "已保存。", "Could not save; try again when online.": "保存失败；请联网后重试。",
  "Alert settings": "提醒设置", "Quiet at night ({night}); urgent cases still alert": "夜间免打扰（{night}），紧急问题仍会提醒",
  "Log in": "登录", "Log out": "退出登录", "Log out of this phone?": "退出本机登录吗？",
  "{n} items are not sent yet. They stay on this phone and are sent when you log in again. Log out?": "还有 {n} 条未发送。它们会保存在本机，重新登录后发送。确定退出吗？",
  "Waiting for the person who made it to log in again": "等待其上报人重新登录后发送", "Log in again": "重新登录", "Log in again to send your reports.": "请重新登录以发送上报。",
  "Map of my grid": "我的网格地图", "Map: drag the pin": "地图：拖动图钉", "My reports": "我的上报", "My tasks": "我的任务",
  "Need attention": "需处理", "No GPS fix. Drag the pin to where it is.": "未获取到定位。请拖动图钉到问题位置。",
  "No category matches.": "没有匹配的类别。",
  "No connection. Logging in needs the network; your saved reports are safe.": "无网络。登录需要联网；已保存的上报不会丢失。",
  "No connection. Your reports wait safely on this phone.": "无网络。上报已安全保存在本机，联网后自动发送。",
  "No reports yet. Tap Report when you see a problem.": "还没有上报。发现问题时点“上报”。",
  "No tasks for you right now.": "目前没有您的任务。", "Note": "备注",
  "Nothing waiting. Everything you report shows here until the server has it.": "没有待发送内容。上报在送达服务器之前都会显示在这里。",
  "Offline, and no copy of your tasks yet. They load the next time you are online.": "离线，且本机还没有任务副本。下次联网时加载。",
  "Offline, and this case was not saved on the phone.": "离线，且本机没有保存此案件。",
  "Offline: showing the last copy.": "离线：显示最近一次保存的内容。",
  "Offline: your sent reports show when you are back online.": "离线：联网后显示已发送的上报。",
  "Optional: what and where exactly": "选填：具体情况和位置", "Or type the address": "或填写地址",
  "Password": "密码",
  "Phone storage is full, so the report could not be saved. Free some space (old photos, apps) and tap Save again; nothing on this screen is lost.": "手机存储空间已满，上报未能保存。请清理空间（旧照片、应用）后再点“保存并发送”；本页内容不会丢失。",
  "Phone storage is full: free some space and try again.": "手机存储空间已满：请清理后重试。",
  "Phone storage is full: the draft stays on screen only.": "手机存储空间已满：草稿只保留在当前页面。",
  "Photo {n}": "照片 {n}", "Photos": "照片", "Preparing…": "处理中…", "Recent": "最近使用",
  "Remove photo {n}": "删除照片 {n}", "Report a problem": "上报问题", "Retry": "重试", "Returned": "被退回",
  "Save and send": "保存并发送", "Saved {time}": "保存于 {time}",
  "Saved. It will be sent when there is a connection.": "已保存，有网络时自动发送。",
  "Saved: {action}. It is sent when online.": "已保存：{action}。联网后发送。",
  "Search categories": "搜索类别", "Sent {time} as {ref}": "已于 {time} 发送，编号 {ref}",
  "Something went wrong: {message}": "出错了：{message}", "Storage is kept safe now.": "本机数据已设为持久保存。",
  "Storage: unknown": "存储：未知", "Storage: {used} of {quota} used": "存储：已用 {used} / 共 {quota}",
  "Sync now": "立即同步", "Synced.": "已同步。", "Take a photo first.": "请先拍照。",
  "Take at least one photo.": "请至少拍一张照片。", "Take photo": "拍照",
  "The browser did not agree; install the app to the home screen.": "浏览器未同意；请将应用添加到主屏幕。",
  "The case is {status} now; this step no longer applies.": "案件现为“{status}”，此操作已不适用。",
  "The case was reassigned; it is no longer yours.": "案件已改派，不再由您处理。",
  "The map is not available offline yet.": "地图暂不能离线使用。",
  "The server had a problem; will try again.": "服务器出错，稍后自动重试。",
  "This case is not yours to see, or it does not exist.": "您无权查看此案件，或案件不存在。",
  "This category needs an after-photo.": "此类问题需要上传处置后照片。",
  "This file is not a photo we can use.": "此文件不是可用的照片。", "Timeline": "处理过程",
  "Tried {n} times; next try {time}": "已尝试 {n} 次；下次 {time}", "Username or phone": "用户名或手机号",
  "Waiting": "待发送", "Sending…": "发送中…", "Sent": "已发送", "Waiting to send": "待发送", "What is it?": "什么问题？",
  "What was done": "处置情况", "Where": "位置", "Where?": "在哪里？",
  "Where is it? Drag the pin or type an address.": "在哪里？请拖动图钉或填写地址。",
  "Wrong username or password.": "用户名或密码错误。",
  "Your login has expired. {n} items wait safely on this phone.": "登录已过期。{n} 条内容安全保存在本机。",
  "e.g. east gate of No. 3 Middle School": "例如：三中东门", "kept safe by the browser": "已持久保存",
  "may be cleared by the browser when space runs out": "空间不足时可能被浏览器清除",
  "last synced {time}": "上次同步 {time}", "not synced yet": "尚未同步", "overdue {span}": "超时 {span}",
  "will be sent when online": "联网后发送", "{d} d {h} h": "{d}天{h}小时", "{h} h {m} min": "{h}小时{m}分",
  "{m} min": "{m}分钟", "{n} need attention": "{n} 条需处理", "{n} waiting": "{n} 条待发送",
  "{n} waiting to send": "{n} 条待发送", "{span} left": "剩 {span}",
  "(component)": "（部件）", "(event)": "（事件）",
  // statuses and actions (labels.js)
  "Reported": "已上报", "Accepted": "已受理", "Not accepted": "不予受理", "Dispatched": "已派遣",
  "Acknowledged": "已签收", "In progress": "处置中", "Handled": "已处置", "Closed": "已结案",
  "Acknowledge (收到)": "收到", "Start work": "开始处置", "Mark handled": "处置完成", "Add photo": "补充照片",
  "Verify and close": "核查通过", "Not fixed: send back": "核查不通过（返工）", "Return: not ours": "退回（非本单位职责）",
  "Ask for more time": "申请延期", "More time granted": "延期已批准", "More time refused": "延期未批准", "Reopen": "重新办理",
  "Reminder": "催办", "Escalated": "督办",
  "Merged as a duplicate": "重复上报，已合并", "Duplicate report merged in": "合并了一条重复上报", "Re-routed": "已改派",
  "Why it is not ours": "退回理由", "What is still wrong": "还有什么问题", "Why more time is needed": "延期理由",
  "Why it is not fixed": "为什么没有解决", "New deadline": "新的处置时限", "Say why.": "请填写理由。",
  "Choose a new deadline in the future.": "请选择一个将来的时间。", "Send": "提交",
  // server errors in the worker's words (labels.js)
  "A photo is too large.": "照片太大。", "That category no longer exists; choose another.": "该类别已停用，请另选。",
  "The photo's format is not supported.": "不支持此照片格式。",
  "This case is no longer yours to see; it was probably reassigned.": "您已无法查看此案件，可能已被改派。", "The server holds a different item with this id.": "服务器上已有同编号的其他内容。",
};

const STORAGE_KEY = "civic-lang";

export function language() {
  const chosen = globalThis.localStorage?.getItem(STORAGE_KEY);
  return chosen === "en" || chosen === "zh" ? chosen : "zh";
}

export function setLanguage(code) {
  localStorage.setItem(STORAGE_KEY, code);
}

export function t(text, vars = {}) {
  const template = language() === "zh" ? ZH[text] ?? text : text;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

// Static text in the shell carries data-i18n="English source".
export function applyLanguage(root) {
  document.documentElement.lang = language() === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const toggle = root.getElementById?.("lang-toggle");
  if (toggle) {
    toggle.textContent = language() === "zh" ? "EN" : "中文";
    toggle.setAttribute("aria-label", language() === "zh" ? "Switch to English" : "切换到中文");
  }
}
