"""Fill the Chinese catalogue from the table below after `pybabel update`.

    .venv/bin/pybabel extract -F babel.cfg -k _l -o /tmp/messages.pot .
    .venv/bin/pybabel update -i /tmp/messages.pot -d civic/translations
    .venv/bin/python scripts/translations.py

Strings already translated in the .po file are kept; the table fills the rest
and replaces pybabel's fuzzy guesses.
"""
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ZH = {
    "Wrong username or password.": "用户名或密码错误。",
    "Please fill in both fields.": "请填写用户名和密码。",
    "You have logged out.": "您已退出登录。",
    "Reported": "已上报",
    "Accepted": "已受理",
    "Rejected": "不予受理",
    "Dispatched": "已派遣",
    "Acknowledged (收到)": "已签收（收到）",
    "Acknowledged": "已签收",
    "Work started": "开始处置",
    "Handled": "已处置",
    "Verified and closed": "核查通过，已结案",
    "In progress": "处置中",
    "Closed": "已结案",
    "Civic grid": "网格通",
    "Open the field app": "打开网格通外勤应用（可离线）",
    "Push notifications": "任务推送状态",
    "Public progress": "公开办理进度",
    "New reports": "待受理上报",
    "Reports waiting to be accepted or dispatched, newest first, with the department the rules chose and likely duplicates.":
        "等待受理或派遣的上报，最新的在前；附系统按规则建议的责任单位和可能的重复上报。",
    "Suggested department": "建议责任单位", "None: choose one": "无：请人工指定", "Possible duplicates": "可能重复",
    "same category nearby": "附近同类问题", "similar photo": "照片相似", "Nothing waiting.": "没有待处理的上报。",
    "Every report the command centre has accepted, and how far it has got. No names, no phone numbers, no exact addresses.":
        "指挥中心受理的每一件问题及其办理进度。不公开姓名、电话和具体地址。",
    "All grids": "全部网格", "Category": "问题类别", "All categories": "全部类别", "Show": "查看",
    "Map of these cases": "这些案件的地图", "%(n)s cases": "共 %(n)s 件", "No cases here.": "这里还没有案件。",
    "Newer": "较新", "Older": "较早", "Before": "处置前", "After": "处置后",
    "Approximate location (about 100 m)": "大致位置（约 100 米范围）",
    "%(reachable)s of %(total)s people get task alerts on a phone. The others learn of new tasks when they open the app, or by SMS.":
        "%(total)s 人中有 %(reachable)s 人的手机能收到任务推送；其他人在打开应用时或通过短信得知新任务。",
    "All staff": "全部工作人员", "Person": "人员", "Phones": "手机数", "Push": "推送",
    "Last delivered": "最近送达", "Last failure": "最近失败", "Active": "可用", "Failing": "失败", "Off": "未开启",
    "Nobody in this group.": "该组没有人员。",
    "Resident": "居民", "Grid worker": "网格员", "Department staff": "部门工作人员", "Dispatcher": "派遣员",
    "Supervisor": "监督员", "Administrator": "管理员",
    "Log out": "退出",
    "Not found": "未找到",
    "This page does not exist, or you may not see it.": "页面不存在，或您无权查看。",
    "Not allowed": "无权访问",
    "Your role may not open this page.": "您的角色无权打开此页面。",
    "Something went wrong": "出错了",
    "Nothing was saved. Please try again in a moment.": "没有保存任何内容，请稍后重试。",
    "Back to the start": "返回首页",
    "Log in": "登录",
    "Username or phone": "用户名或手机号",
    "Password": "密码",
    "Stay logged in on this phone": "在这部手机上保持登录",
    "Photo %(n)s": "照片 %(n)s",
    "Grid": "网格",
    "Outside every grid: waits for the dispatcher": "不在任何网格内：等待派遣员人工分派",
    "Department": "责任部门",
    "Not yet routed": "尚未分派",
    "Acknowledge by": "签收时限",
    "Resolve by": "处置时限",
    "Location": "位置",
    "Map of the case location": "案件位置地图",
    "Timeline": "办理进度",
    "Cases": "案件",
    "No cases yet.": "暂无案件。",
    "No grid": "无网格",
    "phone GPS": "手机定位",
    "photo GPS": "照片定位",
    "address": "地址",
    "unknown": "未知",
    # hotline
    "Hotline call": "热线登记",
    "Hotline call (12345)": "12345 热线登记",
    "Register a citizen's call as a case while you are on the phone: it is routed and timed like any report. The caller's number is kept for calling back and shown only masked.":
        "通话中即可把市民来电登记为案件，与其他上报一样自动分派、计算时限。来电号码仅供回访，页面上只显示打码后的号码。",
    "Caller's phone": "来电号码", "What the caller reports": "反映的问题", "Address": "地址",
    "Latitude": "纬度", "Longitude": "经度", "Form": "表单", "Event": "事件", "Component": "部件",
    "A mobile number, or a landline with its area code (0531-8812 3456).": "手机号，或带区号的座机号（如 0531-8812 3456）。",
    "Choose a category": "请选择问题类别",
    "Not the caller's number: departments read this text.": "请勿在此填写来电号码：责任部门能看到这段文字。",
    "Street, number, landmark": "路名、门牌号、标志物",
    "Click the map or drag the pin, or type latitude and longitude. With an address only, the dispatcher routes the case by hand.":
        "点击地图或拖动图钉，也可直接填写经纬度。只填地址时，由派遣员人工分派。",
    "Map: click or drag the pin": "地图：点击或拖动图钉", "Drag to where the problem is": "拖到问题所在位置",
    "Clear the location": "清除位置", "Register the call": "登记来电", "Caller (12345)": "来电号码（12345）",
    "Nothing was saved. Correct what is marked below, then register again.": "没有保存任何内容。请改正下面标出的内容后重新登记。",
    "This form was already registered as %(ref)s. Your changes were not added to it.": "此表单已登记为 %(ref)s，您的修改没有加入该案件。",
    "Register again to make them a new case.": "再次点击“登记来电”，将按修改后的内容新建一件案件。",
    "Open %(ref)s": "打开 %(ref)s",
    "Type the caller's phone number.": "请填写来电号码。",
    "Not a phone number. Type a mobile number (11 digits, 13x–19x) or a landline with its area code (0531-8812 3456).":
        "号码无效。请填写手机号（11 位，13x–19x 开头）或带区号的座机号（如 0531-8812 3456）。",
    "%(field)s: %(message)s": "%(field)s：%(message)s",
    "Choose a category.": "请选择问题类别。",
    "Unknown category: choose one from the list.": "没有这个类别，请从列表中选择。",
    "Contains a character that cannot be saved (NUL); retype it.": "含有无法保存的字符（NUL），请重新输入。",
    "Too long: at most %(limit)s characters, this has %(count)s.": "太长：最多 %(limit)s 字，现有 %(count)s 字。",
    "Describe the problem the caller reports.": "请填写来电反映的问题。",
    "Latitude is a number between -90 and 90, like 36.581234.": "纬度应为 -90 到 90 之间的数字，如 36.581234。",
    "Longitude is a number between -180 and 180, like 116.251234.": "经度应为 -180 到 180 之间的数字，如 116.251234。",
    "Give both latitude and longitude, or neither.": "纬度和经度要么都填，要么都不填。",
    "Where is it? Type an address, or place the pin on the map (or type latitude and longitude).":
        "问题在哪里？请填写地址，或在地图上放置图钉（或填写经纬度）。",
    "The form was out of date. Check it and register again.": "表单已过期，请核对后重新登记。",
    "Please check this field.": "请检查此项。",
    "This could not be registered; nothing was saved. Check the form and register again.":
        "未能登记，没有保存任何内容。请核对表单后重新登记。",
    "Registered %(ref)s.": "已登记 %(ref)s。",
    "Registered %(ref)s (sent twice: still one case).": "已登记 %(ref)s（重复提交，仍只有一件案件）。",
    "In %(grid)s; the rules suggest %(department)s.": "位于%(grid)s，按规则建议派往%(department)s。",
    "In %(grid)s.": "位于%(grid)s。",
    # case page steps, merge, re-route, the queue's bulk steps
    "Photos added": "补充了照片",
    "Returned: not ours": "退回（非本单位职责）",
    "Not fixed: sent back": "核查不通过，返工",
    "Reopened": "重新办理",
    "More time asked for": "申请延期",
    "More time granted": "延期已批准",
    "More time refused": "延期未批准",
    "Reminder": "催办",
    "Escalated": "督办",
    "Merged as a duplicate": "重复上报，已合并",
    "Duplicate report merged in": "合并了一条重复上报",
    "Re-routed": "已改派",
    "Accept (受理)": "受理",
    "Acknowledge (收到)": "签收（收到）",
    "Not accepted": "不予受理",
    "Dispatch": "派遣",
    "Re-route": "改派",
    "Merge as a duplicate": "作为重复上报合并",
    "Start work": "开始处置",
    "Mark handled": "处置完成",
    "Add photo": "补充照片",
    "Verify and close": "核查通过，结案",
    "Not fixed: send back": "核查不通过，返工",
    "Return: not ours": "退回（非本单位职责）",
    "Ask for more time": "申请延期",
    "Approve more time": "批准延期",
    "Refuse more time": "不批准延期",
    "Reopen": "重新办理",
    "Done: %(step)s.": "已完成：%(step)s。",
    "Say why: a note is required for this step.": "请说明原因：此步骤需要填写说明。",
    "The case has moved on; this step no longer applies. The page shows it as it is now.": "案件状态已变化，此步骤不再适用。页面显示的是最新状态。",
    "You cannot do this step on this case.": "您不能对此案件执行此步骤。",
    "Choose the department to send it to.": "请选择派往的部门。",
    "It is with that department already; choose another.": "案件已在该部门，请选择其他部门。",
    "Add at least one photo.": "请至少添加一张照片。",
    "This kind of case needs a photo taken after the work.": "此类案件需要上传处置后照片。",
    "More time has already been asked for; a supervisor has not decided yet.": "已申请延期，主管尚未审批。",
    "Choose an open case this one duplicates.": "请选择与此重复的未结案件。",
    "Photo storage on the server is not available; nothing was saved. Try again later.": "服务器照片存储不可用，未保存任何内容。请稍后重试。",
    "Why it is not accepted (invalid, out of scope…)": "不予受理的原因（无效、不属于受理范围……）",
    "Why it is not ours": "退回原因（为何不属本单位）",
    "What is still wrong": "仍存在的问题",
    "Why it is not fixed": "为何问题未解决",
    "Next step": "下一步",
    "Choose…": "请选择……",
    "suggested": "建议",
    "Why it goes elsewhere": "改派原因",
    "Same problem as an open case (\"me too\")": "与未结案件是同一问题（“我也遇到”）",
    "or case number": "或输入案件编号",
    "This report is closed as a duplicate; its reporter follows the other case and its photos are added to it.": "本条上报将作为重复上报办结；上报人改为关注另一案件，照片一并归入该案件。",
    "After photo": "处置后照片",
    "required for this kind of case": "此类案件必填",
    "What was done": "处置情况",
    "New deadline": "新的办结时限",
    "Why more time is needed": "申请延期的原因",
    "Map of these reports": "这些上报的位置图",
    "Select %(ref)s": "选择 %(ref)s",
    "Merge or re-route…": "合并或改派……",
    "For the ticked reports": "对勾选的上报",
    "Dispatch to the suggested department": "派遣到建议的部门",
    "Reason (required to reject)": "原因（不予受理时必填）",
    "Apply": "执行",
    "until %(when)s": "延至 %(when)s",
    "Group messages": "工作群消息",
    "%(d)d d %(h)d h": "%(d)d天%(h)d小时",
    "%(h)d h %(m)d min": "%(h)d小时%(m)d分",
    "%(m)d min": "%(m)d分钟",
    "overdue %(span)s": "超时 %(span)s",
    "%(span)s left": "剩 %(span)s",
    "WeCom group": "企业微信群",
    "DingTalk group": "钉钉群",
    "Feishu group": "飞书群",
    "delivered %(when)s": "已送达 %(when)s",
    "failed after %(n)d tries": "发送失败（已尝试 %(n)d 次）",
    "waiting to be sent (tries so far: %(n)d)": "等待发送（已尝试 %(n)d 次）",
    "Tick the reports and choose a step.": "请勾选上报并选择操作。",
    "%(step)s: %(n)d reports.": "%(step)s：%(n)d 条。",
    "…and %(n)d more refused.": "……另有 %(n)d 条未能执行。",
    "%(num)d report lies outside the grids and is not on the map.": "%(num)d 条上报位于网格之外，未在图上显示。",
}

path = Path(__file__).resolve().parent.parent / "civic/translations/zh/LC_MESSAGES/messages.po"
with path.open("rb") as handle:
    catalog = read_po(handle, locale="zh")
missing = []
for message in catalog:
    # A fuzzy entry is pybabel's guess from a similar string: never trust it.
    plural = isinstance(message.id, (tuple, list))  # Chinese has one form: the table keys the singular
    key = message.id[0] if plural else message.id
    translated = any(message.string) if plural else message.string
    if not key or (translated and not message.fuzzy):
        continue
    if key in ZH:
        message.string = (ZH[key],) if plural else ZH[key]
        message.flags.discard("fuzzy")
    else:
        missing.append(key)
with path.open("wb") as handle:
    write_po(handle, catalog, width=100)
if missing:
    print("untranslated:", *missing, sep="\n  ")
